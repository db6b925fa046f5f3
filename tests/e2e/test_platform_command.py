"""The README's platform command, as a newcomer runs it: everything starts, one
request goes through HTTP and Kafka, the demo printer prints a test page, all stops."""

from __future__ import annotations

import asyncio
import os
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
        "COLUMNS": "200",
    }
    for attempt in ("first start", "second start, on the same state"):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shared.cli", "platform", "--check", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 300)
        text = out.decode(errors="replace")
        assert proc.returncode == 0, f"{attempt}:\n{text[-4000:]}"
        assert "check passed" in text and "printed by the demo printer" in text, text[-2000:]
    spool = tmp_path / "home" / "demo-printer" / "spool"
    assert len(list(spool.glob("*.pdf"))) == 2  # one test page per start, same printer
