"""The README's platform command, as a newcomer runs it: everything starts (services,
the counters' roll-up worker, the edge, the demo printer), the demo user's job goes
the whole way through the public base URL and is printed, one request goes through
HTTP and Kafka, the demo printer prints a test page, all stops."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path

import pytest

from shared.infra.kafka import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


async def test_platform_check_starts_everything_prints_and_stops(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PRINTCLOUD_HOME": str(tmp_path / "home"),
        "PRINTCLOUD_LOCAL_KAFKA_PORT": str(free_port()),
        "PRINTCLOUD_LOCAL_KAFKA_CONTROLLER_PORT": str(free_port()),
        "PRINTCLOUD_LOCAL_POSTGRES_PORT": str(free_port()),
        "PRINTCLOUD_LOCAL_HTTP_PORT": str(free_port()),
        "PRINTCLOUD_LOCAL_EDGE_PORT": str(free_port()),
        "COLUMNS": "200",
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
        kept = tmp_path / "home" / "demo-user.json"
        assert kept.stat().st_mode & 0o077 == 0, "the demo user's API token is private"
        tokens.append(json.loads(kept.read_text())["api_token"])
    home = tmp_path / "home"
    spool = home / "demo-printer" / "spool"
    # per start: the demo user's job and a test page, on the same printer
    assert len(list(spool.glob("*.pdf"))) == 4
    assert len(set(jobs)) == 2 and all(list(spool.glob(f"{j}.pdf")) for j in jobs)
    # the warm start reused the demo user's API token
    assert tokens[0] == tokens[1] and tokens[0].startswith("pc_")
