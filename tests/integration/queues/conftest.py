"""Fixtures of the queues tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.testing.fixtures import ServiceDbFactory
from tests.support.queues import Queues, queues_app


@pytest.fixture(name="q")
async def queues_fixture(
    service_db: ServiceDbFactory, bootstrap: str, topics: object, tmp_path: Path
) -> AsyncIterator[Queues]:
    """A started queues app with its blob store under the test's temporary directory."""
    async with queues_app(service_db, bootstrap, tmp_path / "blobs") as rig:
        yield rig
