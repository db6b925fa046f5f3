"""pytest fixtures: one real Kafka and one real Postgres for the whole run.

Load with ``pytest_plugins = ["shared.testing.fixtures"]``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.infra.database import create_database, prepare_service, with_database
from shared.kafka.admin import ensure_topics
from shared.kafka.topics import TOPICS, TopicSpec
from shared.testing.infra import TestInfra, start_test_infra


@pytest.fixture(scope="session")
def infra() -> Iterator[TestInfra]:
    """Kafka + Postgres, started once per run and stopped at its end.

    Every Kafka user's credentials are exported in this process's environment, where
    the services under test (in this process or started from it) read their own."""
    started = start_test_infra()
    exported = started.kafka_environment()
    saved = {name: os.environ.get(name) for name in exported}
    os.environ.update(exported)
    try:
        yield started
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        started.stop()


@pytest.fixture(scope="session")
async def database(infra: TestInfra) -> str:
    """A fresh database for this run; returns its superuser DSN."""
    name = f"printcloud_test_{secrets.token_hex(4)}"
    await create_database(infra.admin_dsn, name)
    return with_database(infra.admin_dsn, name)


@pytest.fixture(scope="session")
async def topics(infra: TestInfra) -> tuple[TopicSpec, ...]:
    """The declared topics, created on the run's broker."""
    await ensure_topics(infra.kafka, TOPICS)
    return TOPICS


@dataclass(frozen=True)
class ServiceDb:
    """A provisioned service: role and schema ``name``, migrated."""

    name: str
    dsn: str


ServiceDbFactory = Callable[..., Awaitable[ServiceDb]]


@pytest.fixture(scope="session")
async def service_db(database: str) -> AsyncIterator[ServiceDbFactory]:
    """Factory: ``await service_db("t_x", migrations_dir)`` provisions and migrates."""

    async def make(name: str, migrations_dir: Path | None = None) -> ServiceDb:
        return ServiceDb(name, await prepare_service(database, name, migrations_dir))

    yield make


def unique(prefix: str) -> str:
    """A short unique lowercase name (schemas, roles, topics, groups)."""
    return f"{prefix}_{secrets.token_hex(4)}"
