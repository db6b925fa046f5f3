"""What the counters integration tests share: a counters app on real Kafka and
Postgres with access tokens it verifies, events produced as their owners would
publish them, the roll-up worker as a real process, and dead-letter reads.
(No tests here.)"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer

from services.counters.app import SPEC
from services.counters.settings import CountersSettings
from shared.db.pool import connect
from shared.events.envelope import Envelope, EventData, new_envelope
from shared.http.auth import (
    CompositeAuthenticator,
    JwksCache,
    JwtAuthenticator,
    OperatorTokenAuthenticator,
)
from shared.kafka.producer import create_producer
from shared.kafka.topics import DEAD_LETTER_TOPIC
from shared.service import create_app
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.integration.conftest import eventually
from tests.unit.test_auth_jwt import AUDIENCE, ISSUER, FakeIssuer, Signer

OPERATOR_TOKEN = "op-" + uuid.uuid4().hex
ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class Counters:
    """A started counters app, a token issuer it trusts, and helpers to drive it."""

    client: TestClient
    dsn: str
    schema: str
    bootstrap: str
    signer: Signer

    def token(self, *, tenant: uuid.UUID, roles: list[str], scope: str,
              sub: uuid.UUID | None = None) -> dict[str, str]:  # fmt: skip
        """An Authorization header of an access token with these claims."""
        token = self.signer.token(
            sub=str(sub or uuid.uuid4()), tenant_id=str(tenant), roles=roles, scope=scope
        )
        return {"Authorization": f"Bearer {token}"}

    def admin(self, tenant: uuid.UUID) -> dict[str, str]:
        scope = "users:read users:write jobs:read printers:read"
        return self.token(tenant=tenant, roles=["admin"], scope=scope)

    def user(self, tenant: uuid.UUID, user_id: uuid.UUID) -> dict[str, str]:
        return self.token(tenant=tenant, roles=["user"], scope="jobs:read", sub=user_id)

    @contextlib.asynccontextmanager
    async def db(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await connect(self.dsn, self.schema, application_name="test-counters")
        try:
            yield conn
        finally:
            await conn.close()

    async def until(self, sql: str, *args: Any, timeout: float = 30) -> Any:
        """The first non-empty value of ``sql``, polled."""
        found: list[Any] = []

        async def check() -> bool:
            async with self.db() as conn:
                value = await conn.fetchval(sql, *args)
            if value:
                found.append(value)
            return bool(value)

        await eventually(check, timeout)
        return found[0]


def envelope(data: EventData, **fields: Any) -> tuple[str, Envelope]:
    """(topic, envelope) of ``data`` as its owner would publish it."""
    env = new_envelope(data, source="test", tenant_id=getattr(data, "tenant_id", None))
    return data.topic, env.model_copy(update=fields) if fields else env


async def publish(bootstrap: str, *events: EventData | tuple[str, Envelope]) -> list[Envelope]:
    """Publish events (or ready (topic, envelope) pairs) as their owners' relays would."""
    producer = create_producer(bootstrap, client_id="test-counters")
    await producer.start()
    sent = []
    try:
        futures = []
        for item in events:
            topic, env = item if isinstance(item, tuple) else envelope(item)
            futures.append(await producer.send(
                topic, env.to_bytes(), key=env.key.encode(), headers=env.kafka_headers()
            ))  # fmt: skip
            sent.append(env)
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent


@contextlib.asynccontextmanager
async def counters_app(
    service_db: ServiceDbFactory, bootstrap: str, **overrides: Any
) -> AsyncIterator[Counters]:
    """A migrated counters schema and the counters app on a real loopback port."""
    db = await service_db(unique("counters"), SPEC.migrations_dir)
    signer = Signer()
    issuer = FakeIssuer(signer)

    def authenticator(settings: Any) -> CompositeAuthenticator:
        cache = JwksCache("http://auth/jwks", fetch=issuer.fetch)
        return CompositeAuthenticator(
            OperatorTokenAuthenticator(OPERATOR_TOKEN),
            JwtAuthenticator("http://auth/jwks", ISSUER, AUDIENCE, leeway_s=0, cache=cache),
        )

    settings = CountersSettings(
        database_url=db.dsn, db_schema=db.name, kafka_bootstrap=bootstrap,
        operator_token=OPERATOR_TOKEN, outbox_poll_s=0.5, **overrides,
    )  # fmt: skip
    spec = dataclasses.replace(SPEC, authenticator=authenticator)
    async with TestClient(TestServer(create_app(spec, settings))) as client:
        yield Counters(client, db.dsn, db.name, bootstrap, signer)


@contextlib.asynccontextmanager
async def rollup_worker(bootstrap: str, tmp: Path, **env: str) -> AsyncIterator[str]:
    """The roll-up worker as its own process (a fresh app id); yields the app id."""
    app_id = unique("rollups-test")
    environ = {
        **os.environ,
        "PRINTCLOUD_COUNTERS_KAFKA_BOOTSTRAP": bootstrap,
        "PRINTCLOUD_COUNTERS_ROLLUP_APP_ID": app_id,
        "PRINTCLOUD_COUNTERS_ROLLUP_DATA_DIR": str(tmp / app_id),
        "PRINTCLOUD_COUNTERS_ROLLUP_PARTITIONS": "3",
        **env,
    }
    log = (tmp / f"{app_id}.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.counters.streams", "worker", "-l", "warn",
        cwd=ROOT, env=environ, stdout=log, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield app_id
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        log.close()


async def topic_envelopes(
    bootstrap: str, topic: str, match: Callable[[dict[str, Any]], bool],
    done: Callable[[list[dict[str, Any]]], bool], timeout: float = 120,
) -> list[dict[str, Any]]:  # fmt: skip
    """Envelopes on ``topic`` that ``match``, read from the start until ``done`` says so."""
    import json

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: list[dict[str, Any]] = []

    async def poll() -> bool:
        for records in (await consumer.getmany(timeout_ms=300, max_records=5000)).values():
            for r in records:
                try:
                    env = json.loads(r.value)
                except ValueError:
                    continue
                if isinstance(env, dict) and match(env):
                    found.append(env)
        return done(found)

    try:
        await eventually(poll, timeout)
    finally:
        await consumer.stop()
    return found


async def parked(
    bootstrap: str, consumer_name: str, keys: Iterable[bytes], count: int, timeout: float = 60
) -> dict[bytes, dict[str, bytes]]:
    """Dead-letter records parked by ``consumer_name`` with one of ``keys``: key -> headers."""
    wanted = set(keys)
    consumer = AIOKafkaConsumer(
        DEAD_LETTER_TOPIC, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: dict[bytes, dict[str, bytes]] = {}

    async def poll() -> bool:
        for records in (await consumer.getmany(timeout_ms=300, max_records=5000)).values():
            for r in records:
                headers = dict(r.headers or ())
                if r.key in wanted and headers.get("dlq.consumer") == consumer_name.encode():
                    found[r.key] = headers
        return len(found) >= count

    try:
        await eventually(poll, timeout)
    finally:
        await consumer.stop()
    return found
