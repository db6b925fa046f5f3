"""What the audit tests share: the audit service and the registry on real Kafka and
Postgres, both trusting one fake issuer of access tokens, and tenant administrators'
tokens. (No tests here.)"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from services.audit.app import SPEC as AUDIT
from services.audit.settings import AuditSettings
from services.registry.app import SPEC as REGISTRY
from services.registry.settings import RegistrySettings
from shared.http.auth import CompositeAuthenticator
from shared.testing.fixtures import ServiceDb, ServiceDbFactory, unique
from tests.support.apps import service_client
from tests.support.tokens import FakeIssuer, Signer, trusting

OPERATOR_TOKEN = "op-" + uuid.uuid4().hex
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@dataclass
class Admin:
    """A tenant administrator: the user id and the API token id its access token names."""

    tenant_id: str
    user_id: str
    token_id: str
    headers: dict[str, str]


@dataclass
class AuditRig:
    """The running registry and audit service, and the tokens to call them with."""

    registry: TestClient
    audit: TestClient
    audit_db: ServiceDb
    signer: Signer
    bootstrap: str
    authenticator: Any

    @contextlib.asynccontextmanager
    async def replica(self, **settings: Any) -> AsyncIterator[TestClient]:
        """Another audit replica on the same schema, with its own settings."""
        values = {**_common(self.bootstrap), **settings}
        aud = AuditSettings(database_url=self.audit_db.dsn, db_schema=self.audit_db.name,
                            **values)  # fmt: skip
        async with service_client(AUDIT, aud, authenticator=self.authenticator) as client:
            yield client

    def admin(self, tenant_id: str, *, roles: tuple[str, ...] = ("admin",)) -> Admin:
        user, token = str(uuid.uuid4()), str(uuid.uuid4())
        access = self.signer.token(sub=user, client_id=token, tenant_id=tenant_id,
                                   roles=list(roles),
                                   scope="printers:read printers:write users:read")  # fmt: skip
        return Admin(tenant_id, user, token, {"Authorization": f"Bearer {access}"})

    async def tenant(self) -> str:
        r = await self.registry.post("/v1/tenants", json={"name": unique("T")}, headers=OPERATOR)
        assert r.status == 201, await r.text()
        return str((await r.json())["id"])

    async def entries(self, who: Admin, **query: str) -> tuple[int, Any]:
        r = await self.audit.get("/v1/audit", params=query, headers=who.headers)
        return r.status, await r.json()

    async def export(self, who: Admin, **query: str) -> tuple[str, list[dict[str, Any]]]:
        r = await self.audit.get("/v1/audit/export", params=query, headers=who.headers)
        assert r.status == 200, await r.text()
        text = await r.text()
        return r.headers["Content-Type"], [json.loads(line) for line in text.splitlines()]


def _common(bootstrap: str) -> dict[str, Any]:
    return {"kafka_bootstrap": bootstrap, "operator_token": OPERATOR_TOKEN,
            "outbox_poll_s": 0.2, "auth_leeway_s": 0}  # fmt: skip


@contextlib.asynccontextmanager
async def audit_rig(
    service_db: ServiceDbFactory, bootstrap: str, **audit_settings: Any
) -> AsyncIterator[AuditRig]:
    """The registry and the audit service, each on a fresh schema, on real ports."""
    signer = Signer()
    issuer = FakeIssuer(signer)

    def authenticator(_: Any) -> CompositeAuthenticator:
        return trusting(issuer, OPERATOR_TOKEN)

    reg_db = await service_db(unique("registry"), REGISTRY.migrations_dir)
    audit_db = await service_db(unique("audit"), AUDIT.migrations_dir)
    common = _common(bootstrap)
    reg = RegistrySettings(database_url=reg_db.dsn, db_schema=reg_db.name, **common)
    aud = AuditSettings(database_url=audit_db.dsn, db_schema=audit_db.name, **common,
                        **audit_settings)  # fmt: skip
    async with (
        service_client(REGISTRY, reg, authenticator=authenticator) as registry,
        service_client(AUDIT, aud, authenticator=authenticator) as audit,
    ):
        yield AuditRig(registry, audit, audit_db, signer, bootstrap, authenticator)
