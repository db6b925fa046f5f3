"""The device websocket of a real gateway process under hypothesis-generated abuse:
garbage before and after login, out-of-order frames, oversized and tiny frames, binary
frames, clients that never read. The gateway answers each refused frame with an error
frame carrying a code, stays healthy, logs no traceback, and its memory stays bounded.
``python -m bench.fuzz_gateway --examples N`` runs longer; the second test sends the
same through the public edge."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fuzz_gateway import print_result, run
from shared.testing.infra import TestInfra
from tests.support.platform import running_platform

pytestmark = pytest.mark.e2e
EXAMPLES = 150
EDGE_EXAMPLES = 80
RSS_GROWTH_BOUND_MB = 50


async def test_the_gateway_survives_fuzzed_device_traffic(infra: TestInfra, tmp_path: Path) -> None:
    async with running_platform(infra.bootstrap, infra.admin_dsn, tmp_path) as platform:
        result = await run(platform, infra.bootstrap, EXAMPLES, run_seed=7)
    print_result(result)
    assert result.examples == EXAMPLES
    assert result.frames_sent > EXAMPLES
    assert sum(result.errors_received.values()) > EXAMPLES / 2
    assert not result.failures, "\n".join(result.failures)
    growth = result.rss_after_mb - result.rss_before_mb
    assert growth < RSS_GROWTH_BOUND_MB, f"gateway RSS grew by {growth:.1f} MB"


async def test_the_edge_passes_fuzzed_device_traffic_on_and_stays_bounded(
    infra: TestInfra, tmp_path: Path
) -> None:
    """The same abuse through the public edge: every answer the gateway gives arrives
    through it (error frames, policy and too-big closes), neither process logs a
    traceback, and the edge's memory stays bounded."""
    async with running_platform(infra.bootstrap, infra.admin_dsn, tmp_path, edge=True) as platform:
        result = await run(platform, infra.bootstrap, EDGE_EXAMPLES, run_seed=11, via_edge=True)
    print_result(result)
    assert result.examples == EDGE_EXAMPLES
    assert sum(result.errors_received.values()) > EDGE_EXAMPLES / 2
    assert not result.failures, "\n".join(result.failures)
    growth = result.rss_after_mb - result.rss_before_mb
    assert growth < RSS_GROWTH_BOUND_MB, f"edge RSS grew by {growth:.1f} MB"
