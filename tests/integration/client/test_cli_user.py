"""The user commands (``printcloud login``, ``printers``, ``print``, ``jobs``, ``release``,
``reservations``) run as processes against the edge.

Behind the edge: the real registry and auth as processes on the run's Kafka and
Postgres (login, token refresh, printers); for the job commands, an aiohttp
server on loopback that answers queues' routes as designed (it records what the
commands sent and checks they carry an access token auth issued).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import stat
import struct
import subprocess
import sys
import termios
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from deploy.apidocs.openapi import document_json
from services.edge.app import create_edge_app
from services.edge.settings import EdgeSettings
from shared.infra.processes import ServiceProcess
from shared.testing.documents import pdf
from shared.testing.infra import TestInfra
from tests.support.apps import serving
from tests.support.client import Queues, queues_app
from tests.support.platform import (
    Platform,
    admin_scopes,
    new_caller,
    new_tenant,
    prepare_platform,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(300)


@dataclass
class Rig:
    edge: str
    platform: Platform
    queues: Queues
    config: Path

    async def cli(
        self, *args: str, columns: str | None = "200", config: Path | None = None
    ) -> tuple[int, str, str]:
        """The command through pipes (``columns`` None: no COLUMNS, as a plain pipe);
        ``config``: another person's credentials directory."""
        env = {**os.environ, "PRINTCLOUD_CONFIG_DIR": str(config or self.config), "TZ": "UTC"}
        env.pop("COLUMNS", None)
        if columns is not None:
            env["COLUMNS"] = columns
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deploy.cli", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    async def terminal(self, *args: str, columns: int) -> tuple[int, str]:
        """The command on a terminal ``columns`` wide (a pty), as a person runs it."""
        env = {**os.environ, "PRINTCLOUD_CONFIG_DIR": str(self.config), "TZ": "UTC",
               "TERM": "xterm-256color"}  # fmt: skip
        for name in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR"):
            env.pop(name, None)
        return await asyncio.to_thread(
            run_in_terminal, [sys.executable, "-m", "deploy.cli", *args], env, columns
        )


def run_in_terminal(argv: list[str], env: dict[str, str], columns: int) -> tuple[int, str]:
    """Run ``argv`` with a pty of ``columns`` columns as its terminal; (exit code, what it
    showed, without colour codes)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the terminal's other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    code = proc.wait(120)
    text = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
    return code, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


@pytest.fixture(scope="module")
async def rig(infra: TestInfra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    workdir = tmp_path_factory.mktemp("cli")
    platform = await prepare_platform(infra.bootstrap, infra.admin_dsn, workdir)
    try:
        for name in ("registry", "auth"):
            port = int(platform.env[name][f"PRINTCLOUD_{name.upper()}_HTTP_PORT"])
            proc = ServiceProcess(
                name, f"services.{name}", platform.env[name], platform.log_dir / f"{name}.log", port
            )
            platform.processes[name] = proc
            proc.start()
        for proc in platform.processes.values():
            await asyncio.to_thread(proc.wait_ready, 120)
        queues = Queues()
        async with serving(queues_app(queues)) as queues_url:
            settings = EdgeSettings(
                upstreams={
                    "registry": platform.url("registry"),
                    "auth": platform.url("auth"),
                    "queues": queues_url,
                }
            )
            async with serving(create_edge_app(settings, openapi=document_json())) as edge:
                yield Rig(edge, platform, queues, workdir / "config")
    finally:
        await asyncio.to_thread(platform.stop)


@pytest.fixture(scope="module")
async def user(rig: Rig) -> dict[str, Any]:
    """A tenant with two printers and a user who may print, logged in."""
    async with aiohttp.ClientSession() as http:
        tenant = await new_tenant(http, rig.platform)
        printers = []
        for name in ("Lobby", "Hall"):
            resp = await http.post(
                rig.platform.url("registry") + "/v1/printers",
                json={
                    "tenant_id": tenant,
                    "name": name,
                    "model": "LaserJet 9",
                    "region": "eu-west",
                },
                headers=rig.platform.operator,
            )
            assert resp.status == 201, await resp.text()
            printers.append((await resp.json())["id"])
        caller = await new_caller(
            http, rig.platform, tenant, ["user"], ["printers:read", "jobs:read", "jobs:submit"]
        )
    code, out, err = await rig.cli("login", "--url", rig.edge, "--token", caller.api_token)
    assert code == 0, err
    assert "logged in" in out
    return {"tenant": tenant, "printers": printers, "caller": caller}


async def test_login_keeps_the_credentials_private(rig: Rig, user: dict[str, Any]) -> None:
    path = rig.config / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert stored["url"] == rig.edge
    assert stored["api_token"] == user["caller"].api_token
    assert stored["access_token"].startswith("ey")


async def test_a_wrong_api_token_is_a_sentence_and_a_failure(
    rig: Rig, user: dict[str, Any]
) -> None:
    other = rig.config.parent / "other-config"
    env_rig = Rig(rig.edge, rig.platform, rig.queues, other)
    bad = "pc_" + "A" * 43
    code, _, err = await env_rig.cli("login", "--url", rig.edge, "--token", bad)
    assert code == 1
    assert "refused the API token" in err and "Traceback" not in err
    assert not (other / "credentials.json").exists()
    code, _, err = await env_rig.cli("printers", "list")
    assert code == 1 and "not logged in" in err


async def test_printers_list_and_capabilities(rig: Rig, user: dict[str, Any]) -> None:
    code, out, err = await rig.cli("printers", "list", "--json")
    assert code == 0, err
    assert sorted(p["id"] for p in json.loads(out)) == sorted(user["printers"])
    code, out, _ = await rig.cli("printers", "list")
    assert "Lobby" in out and "Hall" in out
    code, out, err = await rig.cli("printers", "capabilities", user["printers"][0])
    assert code == 1
    assert "has not reported capabilities yet" in err and "Traceback" not in err


async def test_an_expired_access_token_is_renewed(rig: Rig, user: dict[str, Any]) -> None:
    path = rig.config / "credentials.json"
    stored = json.loads(path.read_text())
    stored["expires_at"] = 0
    old = stored["access_token"]
    path.write_text(json.dumps(stored))
    code, _, err = await rig.cli("printers", "list", "--json")
    assert code == 0, err
    renewed = json.loads(path.read_text())
    assert renewed["access_token"] != old and renewed["expires_at"] > 0


async def test_print_uploads_then_submits_and_jobs_follow(
    rig: Rig, user: dict[str, Any], tmp_path: Path
) -> None:
    document = tmp_path / "report.pdf"
    document.write_bytes(pdf(5, "report", padding=3 * 1024 * 1024))
    printer = user["printers"][0]
    code, out, err = await rig.cli(
        "print", str(document), "--printer", printer, "--copies", "2", "--sides",
        "two-sided-long-edge", "--page-ranges", "1-3,5", "--color-mode", "monochrome", "--secure",
    )  # fmt: skip
    assert code == 0, err
    job_id = out.split()[1]
    assert rig.queues.jobs[job_id]["printer_id"] == printer
    ((doc_id, data),) = [(k, v) for k, v in rig.queues.documents.items()]
    assert data == document.read_bytes()
    submitted = [b for m, p, b in rig.queues.requests if p == "/v1/jobs"][-1]
    assert submitted == {
        "document_id": doc_id,
        "printer_id": printer,
        "title": "report.pdf",
        "release": "secure",
        "settings": {
            "copies": 2,
            "sides": "two-sided-long-edge",
            "print_color_mode": "monochrome",
            "page_ranges": [{"first": 1, "last": 3}, {"first": 5, "last": 5}],
        },
    }
    upload = [r for r in rig.queues.requests if r[1].startswith("/v1/documents")][-1]
    assert upload[1] == "/v1/documents?title=report.pdf" and upload[2] == "application/pdf"

    code, out, err = await rig.cli("jobs", "list")
    assert code == 0 and job_id in out
    code, out, err = await rig.cli("jobs", "show", job_id)
    assert code == 0 and json.loads(out)["id"] == job_id
    code, out, err = await rig.cli("jobs", "watch", job_id)
    assert code == 0, err
    assert [line.split()[1] for line in out.splitlines()] == [
        "job.queued",
        "job.printing",
        "job.completed",
    ]
    code, out, err = await rig.cli("jobs", "cancel", job_id)
    assert code == 0 and "canceled" in out
    code, out, err = await rig.cli("jobs", "show", str(uuid.uuid4()))
    assert code == 1 and "no such job" in err
    assert all(t != f"Bearer {user['caller'].api_token}" for t in rig.queues.tokens)


async def test_refused_settings_are_explained_field_by_field(
    rig: Rig, user: dict[str, Any], tmp_path: Path
) -> None:
    document = tmp_path / "a.txt"
    document.write_text("hello")
    code, _, err = await rig.cli(
        "print", str(document), "--virtual-printer", str(uuid.uuid4()), "--copies", "999"
    )
    assert code == 1
    assert "Settings not supported: the printer cannot print these settings." in err
    assert "settings.copies: at most 99 copies" in err
    assert "Traceback" not in err
    code, _, err = await rig.cli("print", str(document))
    assert code == 1 and "exactly one of --printer and --virtual-printer" in err
    code, _, err = await rig.cli("print", str(document), "--printer", "p", "--page-ranges", "3-1")
    assert code == 2 and "range goes upwards" in err


async def test_release_and_reservations(rig: Rig, user: dict[str, Any]) -> None:
    printer = user["printers"][1]
    jobs = [str(uuid.uuid4()), str(uuid.uuid4())]
    code, out, err = await rig.cli(
        "release", "--printer", printer, "--job", jobs[0], "--job", jobs[1]
    )
    assert code == 0, err
    assert "2 job(s) released" in out
    assert ("POST", f"/v1/printers/{printer}/release", {"job_ids": jobs}) in rig.queues.requests
    code, _, err = await rig.cli("release", "--printer", printer)
    assert code == 1 and "--job" in err
    code, out, err = await rig.cli(
        "reservations", "create", "--printer", printer, "--max-count", "3", "--max-pages", "40",
        "--deadline", "2030-01-01T12:00:00Z",
    )  # fmt: skip
    assert code == 0, err
    assert "2 document(s) queued" in out
    assert out.index("1. b  3 page(s)") < out.index("2. a  1 page(s)")
    sent = [b for m, p, b in rig.queues.requests if p == "/v1/reservations"][-1]
    assert sent == {"printer_id": printer, "max_count": 3, "max_pages": 40,
                    "deadline": "2030-01-01T12:00:00+00:00"}  # fmt: skip
    code, out, err = await rig.cli(
        "reservations", "create", "--printer", printer, "--max-count", "3", "--max-pages", "40",
        "--deadline", "2030-01-01T12:00:00",
    )  # fmt: skip
    assert code == 1 and "time zone" in err
    code, out, err = await rig.cli("reservations", "list", "--printer", printer, "--mine")
    assert code == 0, err
    (made,) = rig.queues.reservations
    assert made in out and "0/2 done" in out
    listed = [b for m, p, b in rig.queues.requests if (m, p) == ("GET", "/v1/reservations")]
    assert listed[-1]["printer_id"] == printer and listed[-1]["owner"] == "me"
    code, out, err = await rig.cli("reservations", "cancel", made)
    assert code == 0 and "2 of 2 job(s) canceled" in out, err
    code, out, _ = await rig.cli("reservations", "list", "--json")
    assert json.loads(out)[0]["canceled_at"]
    code, _, err = await rig.cli("reservations", "cancel", str(uuid.uuid4()))
    assert code == 1 and "no such reservation" in err


async def test_printer_ids_are_never_cut_through_a_pipe_or_on_a_terminal(
    rig: Rig, user: dict[str, Any]
) -> None:
    code, out, err = await rig.cli("printers", "list", columns=None)  # a plain pipe
    assert code == 0, err
    for printer in user["printers"]:
        assert printer in out, out
    assert "…" not in out
    for columns in (200, 60, 30):  # wide, narrower than the table, narrower than an id + name
        code, shown = await rig.terminal("printers", "list", columns=columns)
        assert code == 0, shown
        assert "…" not in shown, shown
        for printer in user["printers"]:
            assert printer in shown, (columns, shown)
        lines = [line for line in shown.splitlines() if line.strip()]
        assert all(len(line) <= max(columns, 36 + 4) for line in lines), (columns, shown)
    code, shown = await rig.terminal("jobs", "list", "--json", columns=40)
    assert code == 0 and isinstance(json.loads(shown), list), shown


async def test_watch_shows_when_each_event_happened_and_details_in_words(
    rig: Rig, user: dict[str, Any], tmp_path: Path
) -> None:
    document = tmp_path / "w.pdf"
    document.write_bytes(pdf())
    code, out, err = await rig.cli("print", str(document), "--printer", user["printers"][0])
    assert code == 0, err
    job_id = out.split()[1]
    code, shown = await rig.terminal("jobs", "watch", job_id, columns=100)
    assert code == 0, shown
    lines = [line.strip() for line in shown.splitlines() if line.strip()]
    assert lines[0].startswith("2030-01-01T12:00:01 job.queued state=queued"), lines
    assert lines[1] == ("2030-01-01T12:00:02 job.printing state=printing: printer state idle"), (
        lines
    )
    assert "{" not in shown and "None" not in shown
    code, out, err = await rig.cli("jobs", "watch", job_id, "--json")
    assert code == 0, err
    assert [json.loads(line)["state"] for line in out.splitlines()] == [
        "queued",
        "printing",
        "completed",
    ]


async def test_releasing_secure_jobs_explains_the_login_at_the_printer(
    rig: Rig, user: dict[str, Any], tmp_path: Path
) -> None:
    printer = user["printers"][1]
    document = tmp_path / "s.pdf"
    document.write_bytes(pdf())
    code, out, err = await rig.cli("print", str(document), "--printer", printer, "--secure")
    assert code == 0, err
    assert "log in at printer" in out and "release` does not print it" in out
    code, out, err = await rig.cli("release", "--printer", printer, "--all")
    assert code == 0, err
    assert "0 job(s) released" in out
    assert "secure job(s) (printed with --secure) wait at printer" in out
    assert "printcloud phone approve" in out


async def test_common_mistakes_say_what_to_do_next(rig: Rig, user: dict[str, Any]) -> None:
    code, _, err = await rig.cli("jobs", "show", str(uuid.uuid4()))
    assert code == 1 and "next: check the id: `printcloud jobs list`" in err
    code, _, err = await rig.cli("printers", "capabilities", str(uuid.uuid4()))
    assert code == 1 and "next:" in err and "Traceback" not in err
    other = Rig(rig.edge, rig.platform, rig.queues, rig.config.parent / "nobody")
    code, _, err = await other.cli("jobs", "list")
    assert code == 1 and "printcloud login --url" in err
    code, out, _ = await rig.cli("--help")
    assert code == 0 and "Exit codes: 0 done" in out and "130 interrupted" in out


async def test_an_admin_groups_people_and_shares_a_printer_with_a_group(
    rig: Rig, user: dict[str, Any]
) -> None:
    """Groups and sharing through the CLI, auth and the registry as processes: the
    registry learns the group from auth.groups, and the user sees only what is shared."""
    lobby, hall = user["printers"]
    config = rig.config.parent / "admin-config"
    async with aiohttp.ClientSession() as http:
        admin = await new_caller(http, rig.platform, user["tenant"], ["admin"], admin_scopes())
    code, _, err = await rig.cli("login", "--url", rig.edge, "--token", admin.api_token,
                                 config=config)  # fmt: skip
    assert code == 0, err
    code, out, err = await rig.cli("groups", "create", "Finance", "--json", config=config)
    assert code == 0, err
    finance = json.loads(out)
    code, out, err = await rig.cli(
        "groups", "create", "Staff", "--group", finance["id"], "--json", config=config
    )
    staff = json.loads(out)
    code, out, err = await rig.cli("groups", "add", finance["id"], "--group", staff["id"],
                                   config=config)  # fmt: skip
    assert code != 0 and "cannot contain itself" in (out + err)
    code, out, err = await rig.cli(
        "groups", "add", finance["id"], "--user", user["caller"].user_id, "--json", config=config
    )
    assert code == 0, err
    assert json.loads(out)["member_user_ids"] == [user["caller"].user_id]

    async def shared() -> bool:
        code, _, _ = await rig.cli("printers", "share", hall, "--group", staff["id"], config=config)
        return code == 0  # refused until the registry has learnt the group from auth

    await eventually(shared)
    code, out, err = await rig.cli("printers", "list", "--json")
    assert sorted(p["id"] for p in json.loads(out)) == sorted([lobby, hall])
    code, out, err = await rig.cli("groups", "remove", finance["id"], "--user",
                                   user["caller"].user_id, config=config)  # fmt: skip
    assert code == 0, err

    async def hidden() -> bool:
        code, out, _ = await rig.cli("printers", "list", "--json")
        return code == 0 and [p["id"] for p in json.loads(out)] == [lobby]

    await eventually(hidden)
    code, out, err = await rig.cli("printers", "capabilities", hall)
    assert code != 0 and "not found" in (out + err).lower()
    code, out, err = await rig.cli("printers", "share", hall, "--tenant", config=config)
    assert code == 0 and "whole tenant" in out
