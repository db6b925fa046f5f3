"""The gateway connections benchmark's short version: every device connects and
holds, and every command arrives exactly once at the device it was issued to.

Speed is reported by ``python -m bench.gateway_connections``, never asserted here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.gateway_connections import parse, run
from shared.testing.infra import TestInfra

pytestmark = pytest.mark.e2e


async def test_gateway_benchmark_short_run_connects_all_and_delivers_once(
    infra: TestInfra, tmp_path: Path
) -> None:
    args = parse(
        [
            "--connections", "200", "--client-procs", "2", "--commands", "20",
            "--command-devices", "10", "--idle-seconds", "2", "--settle-s", "0.5",
            "--command-rate", "100",
        ]
    )  # fmt: skip
    result = await run(infra, args, tmp_path)
    print(result)
    assert result["connect_failures"] == {}
    assert result["connected"] == result["held_at_end"] == 200
    assert result["gateway_connections_metric"] == 200
    assert result["commands_issued"] == result["commands_received"] == 20
    assert result["commands_duplicated"] == result["commands_missing"] == 0
    assert result["commands_wrong_device"] == 0
    assert result["all_connected"] and result["commands_exactly_once"]
