"""The README's platform command, as a newcomer runs it: everything starts (services,
the counters' roll-up worker, the edge, the demo printer), the demo user's job goes
the whole way through the public base URL and is printed, one request goes through
HTTP and Kafka, the demo printer prints a test page, all stops."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
from pathlib import Path

import pytest

from deploy.catalog import SERVICES
from shared.infra.kafka import free_port_range

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


async def test_platform_check_starts_everything_prints_and_stops(tmp_path: Path) -> None:
    kafka = free_port_range(2)
    env = {
        **os.environ,
        "PRINTCLOUD_HOME": str(tmp_path / "home"),
        "PRINTCLOUD_LOCAL_KAFKA_PORT": str(kafka),
        "PRINTCLOUD_LOCAL_KAFKA_CONTROLLER_PORT": str(kafka + 1),
        "PRINTCLOUD_LOCAL_POSTGRES_PORT": str(free_port_range()),
        # every service's port and the roll-up worker's, in a row: each is fixed
        "PRINTCLOUD_LOCAL_HTTP_PORT": str(free_port_range(len(SERVICES) + 1)),
        "PRINTCLOUD_LOCAL_EDGE_PORT": str(free_port_range()),
        "COLUMNS": "80",  # what a pipe gets: ids and paths are folded, never cut
    }
    jobs: list[str] = []
    tokens: list[str] = []
    for attempt in ("first start", "second start, on the same state"):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deploy.cli", "platform", "--check", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 300)
        text = out.decode(errors="replace")
        assert proc.returncode == 0, f"{attempt}:\n{text[-4000:]}"
        assert "check passed" in text and "printed by the demo printer" in text, text[-2000:]
        assert re.search(r"first job printed after \d+\.\d s", text), text[-2000:]
        assert "counters-rollups" in text, "the roll-up worker is one of the processes"
        jobs.extend(re.findall(r"job ([0-9a-f-]{36}) submitted through", text))
        home = tmp_path / "home"
        # a progress line per stage, the first job's included
        for stage in ("starting Postgres and Kafka", "applying migrations", "starting the demo",
                      "is [a-z]+: waiting until"):  # fmt: skip
            assert re.search(rf"\[\s*\d+\.\d s\] .*{stage}", text), (stage, text[-3000:])
        # whole log paths, whole ids; the operator token kept in a file, not printed
        assert "…" not in text, text[-3000:]
        assert f"logs in {home / 'logs'}" in re.sub(r"\s*\n\s*", "", text)
        assert "counters-rollups.log" in text
        operator_token = (home / "operator-token").read_text().strip()
        assert operator_token not in text
        assert f"TOKEN=$(cat {home / 'operator-token'})" in text
        assert (home / "operator-token").stat().st_mode & 0o077 == 0
        # it ends with exactly what to type next
        tail = [line.strip() for line in text.splitlines() if line.strip()][-12:]
        uuid_ = "[0-9a-f-]{36}"
        assert re.fullmatch(
            r"\S+printcloud login --url http://127\.0\.0\.1:\d+ --token pc_\S+", tail[0]
        ), tail
        assert re.fullmatch(rf"\S+printcloud print FILE\.pdf --printer {uuid_}", tail[1]), tail
        # pull print in two more commands, with the demo virtual printer
        assert re.fullmatch(rf"\S+printcloud print FILE\.pdf --virtual-printer {uuid_}", tail[4])
        assert re.fullmatch(rf"\S+printcloud release --printer {uuid_} --all", tail[5]), tail
        # or the web portal, signed in with the same token
        assert re.match(r"or in a browser: open http://localhost:\d+/portal, sign in", tail[6])
        # and the demo printer as a driverless IPP Everywhere printer of this computer
        assert re.fullmatch(
            rf"lpadmin -p printcloud-demo -E -m everywhere -v "
            rf"'ipp://demo:pc_\S+@127\.0\.0\.1:\d+/ipp/print/{uuid_}'",
            tail[8],
        ), tail
        assert re.fullmatch(rf"ipp://127\.0\.0\.1:\d+/ipp/print/{uuid_}", tail[10]), tail
        assert tail[10].split("/")[-1] == tail[8].split("/")[-1].rstrip("'")
        assert tail[-1] == "stopping"
        assert re.search(rf"job {uuid_} sent to the demo virtual printer, released at the demo "
                         "printer and printed into", text), text[-3000:]  # fmt: skip
        kept = tmp_path / "home" / "demo-user.json"
        assert kept.stat().st_mode & 0o077 == 0, "the demo user's API token is private"
        tokens.append(json.loads(kept.read_text())["api_token"])
    home = tmp_path / "home"
    spool = home / "demo-printer" / "spool"
    # per start: the demo user's job, its pull-print job and a test page, on one printer
    assert len(list(spool.glob("*.pdf"))) == 6
    assert len(set(jobs)) == 2 and all(list(spool.glob(f"{j}.pdf")) for j in jobs)
    # the warm start reused the demo user's API token
    assert tokens[0] == tokens[1] and tokens[0].startswith("pc_")


async def test_a_taken_port_is_an_error_naming_the_variable(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        env = {
            **os.environ,
            "PRINTCLOUD_HOME": str(tmp_path / "home"),
            "PRINTCLOUD_LOCAL_EDGE_PORT": str(port),
            "COLUMNS": "80",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deploy.cli", "platform", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    text = out.decode(errors="replace")
    assert proc.returncode == 1, text
    assert f"port {port} (edge) is taken" in text, text
    assert "PRINTCLOUD_LOCAL_EDGE_PORT=" in text and "Traceback" not in text, text
