"""A real registry process through database and broker outages: started while Postgres
(or Kafka) is unreachable it waits instead of exiting, answers its probes meanwhile and
becomes ready when the dependency appears; a request while the database is gone is a
503 problem with Retry-After, and the next one after it is back succeeds.

The outages are made with a TCP relay in front of the run's real Postgres or Kafka:
closing it refuses new connections and cuts the open ones, as a dead server would."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest

from services.registry.app import SPEC as REGISTRY
from shared.infra.kafka import free_port
from shared.infra.processes import ServiceProcess
from shared.testing.fixtures import ServiceDb, ServiceDbFactory, unique
from shared.testing.infra import TestInfra
from tests.support.network import Relay
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
TOKEN = "op-" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def _through(dsn: str, port: int) -> str:
    """``dsn`` with its host and port replaced by the relay's."""
    parts = urlsplit(dsn)
    userinfo = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@127.0.0.1:{port}"))


def _registry(
    log_dir: Path, db: ServiceDb, *, database_url: str, bootstrap: str, **env: str
) -> ServiceProcess:
    """A registry process on its own schema, reaching its dependencies as told."""
    port = free_port()
    prefix = "PRINTCLOUD_REGISTRY_"
    full = {
        "HTTP_PORT": str(port),
        "OPERATOR_TOKEN": TOKEN,
        "SHUTDOWN_GRACE_S": "0",
        "LOG_JSON": "true",
        "DB_SCHEMA": db.name,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP": bootstrap,
        **env,
    }
    return ServiceProcess(
        "registry",
        "services.registry",
        {prefix + k: v for k, v in full.items()},
        log_dir / "registry.log",
        port,
    )


@contextlib.asynccontextmanager
async def started(proc: ServiceProcess) -> AsyncIterator[aiohttp.ClientSession]:
    proc.start()
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{proc.http_port}") as http:
            yield http
    finally:
        await asyncio.to_thread(proc.terminate, 20)


async def _answers(http: aiohttp.ClientSession, path: str) -> int | None:
    try:
        async with http.get(path, timeout=aiohttp.ClientTimeout(total=3)) as resp:
            return resp.status
    except aiohttp.ClientError:
        return None


async def _refused_for(http: aiohttp.ClientSession, dependency: str) -> str:
    """An API call answers 503 dependency-unavailable naming ``dependency``; its text."""
    async with http.get("/v1/tenants", headers=AUTH) as resp:
        text = await resp.text()
        assert resp.status == 503, text
        assert resp.content_type == "application/problem+json"
        assert int(resp.headers["Retry-After"]) >= 1
        body = await resp.json(content_type=None)
        assert body["code"] == "dependency-unavailable"
        assert dependency in body["detail"]
        return text


async def _creates_tenant(http: aiohttp.ClientSession) -> None:
    async with http.post("/v1/tenants", json={"name": unique("T")}, headers=AUTH) as resp:
        assert resp.status == 201, await resp.text()


async def _waits_unready(
    proc: ServiceProcess, http: aiohttp.ClientSession, check: str, dependency: str
) -> None:
    """Up for several seconds, alive, not ready because of ``check``; API calls 503."""

    async def probes_answered() -> bool:
        return await _answers(http, "/healthz") == 200

    await eventually(probes_answered, timeout=20)
    await asyncio.sleep(3)
    assert proc.is_running(), proc.log_tail()
    async with http.get("/readyz") as resp:
        assert resp.status == 503
        checks = (await resp.json())["checks"]
        assert checks[check].startswith("unreachable"), checks
    await _refused_for(http, dependency)
    log = proc.log_file.read_text()
    assert "dependency unreachable at start-up; retrying" in log
    assert dependency in log
    assert "Traceback" not in log
    assert proc.is_running(), proc.log_tail()


async def _ready(http: aiohttp.ClientSession) -> None:
    async def ready() -> bool:
        return await _answers(http, "/readyz") == 200

    await eventually(ready, timeout=30)


async def test_waits_for_the_database_then_rides_out_an_outage(
    infra: TestInfra, service_db: ServiceDbFactory, topics: object, tmp_path: Path
) -> None:
    db = await service_db(unique("registry"), REGISTRY.migrations_dir)
    relay = Relay(free_port(), _host_port(urlsplit(db.dsn).netloc.rpartition("@")[2]))
    proc = _registry(
        tmp_path, db, database_url=_through(db.dsn, relay.port), bootstrap=infra.bootstrap
    )
    try:
        async with started(proc) as http:
            # 1. Nothing listens where the database should be: it waits, up and unready.
            await _waits_unready(proc, http, "database", "the database")

            # 2. The database appears: ready, and serving.
            await relay.open()
            await _ready(http)
            await _creates_tenant(http)

            # 3. The database goes away under a running service: 503 with Retry-After.
            await relay.close()
            text = await _refused_for(http, "the database")
            assert str(relay.port) not in text
            assert proc.is_running()

            # 4. It comes back: the next requests succeed without a restart.
            await relay.open()

            async def serves() -> bool:
                async with http.get("/v1/tenants", headers=AUTH) as resp:
                    return resp.status == 200

            await eventually(serves, timeout=20)
            await _creates_tenant(http)
        assert proc.proc is not None and proc.proc.returncode == 0, proc.log_tail()
        # Requests failed by the outage are one warning line each, never a 500's traceback.
        log = proc.log_file.read_text()
        assert '"dependency unavailable"' in log, proc.log_tail()
        assert "unhandled error" not in log, proc.log_tail()
    finally:
        await relay.close()


async def test_waits_for_the_broker(
    infra: TestInfra, service_db: ServiceDbFactory, topics: object, tmp_path: Path
) -> None:
    db = await service_db(unique("registry"), REGISTRY.migrations_dir)
    # Kafka's metadata names the real broker: only bootstrapping goes through the relay.
    relay = Relay(free_port(), _host_port(infra.bootstrap.split(",")[0]))
    proc = _registry(tmp_path, db, database_url=db.dsn, bootstrap=f"127.0.0.1:{relay.port}")
    try:
        async with started(proc) as http:
            await _waits_unready(proc, http, "kafka", "the event broker")
            await relay.open()
            await _ready(http)
            await _creates_tenant(http)
        assert proc.proc is not None and proc.proc.returncode == 0, proc.log_tail()
    finally:
        await relay.close()


async def test_stop_while_waiting_exits_cleanly(
    infra: TestInfra, service_db: ServiceDbFactory, tmp_path: Path
) -> None:
    db = await service_db(unique("registry"), REGISTRY.migrations_dir)
    proc = _registry(
        tmp_path, db, database_url=_through(db.dsn, free_port()), bootstrap=infra.bootstrap
    )
    proc.start()
    try:

        async def retrying() -> bool:
            return proc.log_file.exists() and "retrying" in proc.log_file.read_text()

        await eventually(retrying, timeout=20)
        assert proc.is_running(), proc.log_tail()
    finally:
        code = await asyncio.to_thread(proc.terminate, 20)
    assert code == 0, proc.log_tail()
    assert "stopped while starting" in proc.log_file.read_text()


async def test_startup_timeout_bounds_the_wait(
    infra: TestInfra, service_db: ServiceDbFactory, tmp_path: Path
) -> None:
    db = await service_db(unique("registry"), REGISTRY.migrations_dir)
    proc = _registry(
        tmp_path,
        db,
        database_url=_through(db.dsn, free_port()),
        bootstrap=infra.bootstrap,
        STARTUP_TIMEOUT_S="2",
    )
    proc.start()
    try:
        assert proc.proc is not None
        code = await asyncio.to_thread(proc.proc.wait, 30)
    finally:
        await asyncio.to_thread(proc.terminate, 5)
    assert code == 1, proc.log_tail()
    assert "gave up starting" in proc.log_file.read_text()
