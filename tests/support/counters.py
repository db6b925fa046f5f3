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
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from services.counters.app import SPEC
from services.counters.settings import CountersSettings
from shared.http.auth import CompositeAuthenticator
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.support.apps import service_client
from tests.support.db import SchemaProbe
from tests.support.kafka import dead_letters
from tests.support.tokens import FakeIssuer, Signer, trusting

OPERATOR_TOKEN = "op-" + uuid.uuid4().hex
ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class Counters(SchemaProbe):
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
async def counters_app(
    service_db: ServiceDbFactory, bootstrap: str, **overrides: Any
) -> AsyncIterator[Counters]:
    """A migrated counters schema and the counters app on a real loopback port."""
    db = await service_db(unique("counters"), SPEC.migrations_dir)
    signer = Signer()
    issuer = FakeIssuer(signer)

    def authenticator(settings: Any) -> CompositeAuthenticator:
        return trusting(issuer, OPERATOR_TOKEN)

    settings = CountersSettings(
        database_url=db.dsn, db_schema=db.name, kafka_bootstrap=bootstrap,
        operator_token=OPERATOR_TOKEN, outbox_poll_s=0.5, **overrides,
    )  # fmt: skip
    spec = dataclasses.replace(SPEC, authenticator=authenticator)
    async with service_client(spec, settings) as client:
        yield Counters(client, db.dsn, db.name, bootstrap, signer)


@contextlib.asynccontextmanager
async def rollup_worker(bootstrap: str, tmp: Path, **env: str) -> AsyncIterator[str]:
    """The roll-up worker as its own process (a fresh app id); yields the app id."""
    app_id = unique("printcloud-counters-rollups-test")  # its Kafka user owns this prefix
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


async def parked_by_key(
    bootstrap: str, consumer: str, keys: Iterable[bytes], count: int, timeout: float = 60
) -> dict[bytes | None, dict[str, bytes]]:
    """The headers of the dead letters ``consumer`` parked with one of ``keys``, by key,
    once there are ``count`` different keys."""
    letters = await dead_letters(
        bootstrap, consumer=consumer, keys=keys, timeout=timeout,
        done=lambda found: len({d.key for d in found}) >= count,
    )  # fmt: skip
    return {d.key: d.headers for d in letters}
