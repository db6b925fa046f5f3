"""Fixtures of the end-to-end tests of printing: the whole platform as processes behind
the edge, two tenants with their people, and printers served by real agent processes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.testing.infra import TestInfra
from tests.support.jobs import JobsWorld, running_jobs_world


@pytest.fixture(scope="module")
async def jobs_world(
    infra: TestInfra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[JobsWorld]:
    """Every service as a process behind the edge; tenant 1 (Ada, Bob, an admin) and
    tenant 2 (Eve); printers ``a`` and ``b`` (simulators, members of a virtual printer),
    ``slow`` (a one-sided simulator taking seconds per job), ``ipp`` (a bridge to a real
    ippeveprinter) and ``spare`` (claimed, never running)."""
    async with running_jobs_world(infra, tmp_path_factory.mktemp("jobs")) as world:
        yield world
