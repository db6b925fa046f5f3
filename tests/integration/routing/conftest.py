"""Fixtures of the routing tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.testing.fixtures import ServiceDbFactory
from tests.support.routing import Routing, start_routing


@pytest.fixture
async def routing(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[Routing]:
    async with start_routing(service_db, bootstrap) as started:
        yield started
