"""The throughput benchmark's short version: it runs, and every event arrives once.

Speed is reported by ``python -m bench.outbox_throughput``, never asserted here.
"""

from pathlib import Path

import pytest

from bench.outbox_throughput import parse, run_one
from shared.testing.infra import TestInfra

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("mode", ["drain", "live"])
async def test_benchmark_short_run_is_exactly_once(
    infra: TestInfra, tmp_path: Path, mode: str
) -> None:
    args = parse(["--mode", mode, "--events", "3000", "--timeout", "120"])
    result = await run_one(infra, args, relay_batch=200, consumer_batch=300, workdir=tmp_path)
    print(result)
    assert result["exactly_once"] is True
    assert result["events"] == 3000
    assert result["events_per_s_steady"] > 0
