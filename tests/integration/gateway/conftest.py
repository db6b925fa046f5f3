"""Fixtures of the gateway tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.testing.fixtures import ServiceDbFactory
from tests.support.gateway import Rig, gateway_rig


@pytest.fixture
async def rig(service_db: ServiceDbFactory, bootstrap: str, topics: object) -> AsyncIterator[Rig]:
    """A registry and a gateway in front of it."""
    async with gateway_rig(service_db, bootstrap) as started:
        yield started
