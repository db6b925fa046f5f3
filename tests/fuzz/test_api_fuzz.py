"""Every operation of docs/openapi.yaml, fuzzed against the real service processes with
real tokens: no answer is a server error, and every status, content type and body is
the one the document declares. ``python -m bench.fuzz_api --examples N`` runs longer."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fuzz_api import deep_bodies, print_result, run
from shared.testing.infra import TestInfra
from tests.support.platform import running_platform

pytestmark = pytest.mark.e2e
EXAMPLES = 12  # per operation and service: 1,200 requests over 100 operations


async def test_every_operation_answers_as_documented_under_fuzzing(
    infra: TestInfra, tmp_path: Path
) -> None:
    async with running_platform(infra.bootstrap, infra.admin_dsn, tmp_path, edge=True) as platform:
        result = await run(platform, EXAMPLES, run_seed=20240611)
        too_deep = await deep_bodies(platform)
        for proc in platform.processes.values():
            assert proc.is_running(), f"{proc.name} died:\n{proc.log_tail()}"
    print_result(result)
    assert result.operations >= 10 and result.requests >= result.operations * 5
    # Authenticated paths were reached, not only refusals.
    assert sum(n for status, n in result.by_status.items() if status < 300) > result.operations
    assert not result.unserved, f"documented but served by no service: {result.unserved}"
    assert not result.failures, "\n".join(sorted(result.failures))
    assert not too_deep, f"a 100,000-level JSON body answered with a server error: {too_deep}"
