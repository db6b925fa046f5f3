"""Fixtures of the tests against the run's real Kafka and Postgres."""

from __future__ import annotations

import pytest

from shared.testing.fixtures import ServiceDbFactory
from shared.testing.infra import TestInfra
from tests.support.registry import RegistryFactory, registry_starter

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def bootstrap(infra: TestInfra) -> str:
    return infra.bootstrap


@pytest.fixture
def registry_app(service_db: ServiceDbFactory, bootstrap: str, topics: object) -> RegistryFactory:
    """``async with registry_app(token, **settings) as reg``: a started registry."""
    return registry_starter(service_db, bootstrap)
