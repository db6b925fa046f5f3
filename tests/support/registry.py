"""The registry on real infrastructure: the app on its own fresh schema, and the other
side of its protocols (the gateway's device reports, a device onboarding)."""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric import ed25519

from services.registry.app import SPEC
from services.registry.domain.onboarding import poll_message
from services.registry.settings import RegistrySettings
from shared.crypto.encoding import b64url_encode
from shared.crypto.keys import spki_der
from shared.crypto.signatures import sign
from shared.events.contracts.gateway import DeviceCapabilitiesReported
from shared.events.envelope import EventData
from shared.http.auth import Authenticator
from shared.printing.capabilities import Capabilities
from shared.protocols.onboarding import registration_headers
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.support.apps import service_client
from tests.support.kafka import publish

CAPS = Capabilities(
    document_format_supported=["application/pdf"],
    media_supported=["iso_a4_210x297mm", "na_letter_8.5x11in"],
    sides_supported=["one-sided", "two-sided-long-edge"],
)
T0 = datetime.now(UTC)


@dataclass(frozen=True)
class RegistryUnderTest:
    """A registry app on its own fresh schema, reachable over real HTTP."""

    client: TestClient
    dsn: str
    schema: str


RegistryFactory = Callable[..., contextlib.AbstractAsyncContextManager[RegistryUnderTest]]


def registry_starter(service_db: ServiceDbFactory, bootstrap: str) -> RegistryFactory:
    """``async with start(token, **settings) as reg``: a started registry."""

    @contextlib.asynccontextmanager
    async def start(
        token: str, authenticator: Authenticator | None = None, **overrides: Any
    ) -> AsyncIterator[RegistryUnderTest]:
        """``authenticator``: who the registry trusts instead of auth (e.g. a test issuer)."""
        db = await service_db(unique("registry"), SPEC.migrations_dir)
        settings = RegistrySettings(
            database_url=db.dsn, db_schema=db.name, kafka_bootstrap=bootstrap,
            operator_token=token, outbox_poll_s=0.5, **overrides,
        )  # fmt: skip
        spec = SPEC
        if authenticator is not None:
            spec = dataclasses.replace(SPEC, authenticator=lambda _: authenticator)
        async with service_client(spec, settings) as client:
            yield RegistryUnderTest(client, db.dsn, db.name)

    return start


class Devices:
    """A started registry seen from the gateway's side: printers, and their reports."""

    def __init__(
        self, client: TestClient, bootstrap: str, schema: str, auth: dict[str, str]
    ) -> None:
        self.client, self.bootstrap, self.schema, self.auth = client, bootstrap, schema, auth

    async def printer(self) -> dict[str, Any]:
        r = await self.client.post("/v1/tenants", json={"name": unique("T")}, headers=self.auth)
        tenant = await r.json()
        body = {"tenant_id": tenant["id"], "name": "P", "model": "M", "region": "eu-west"}
        r = await self.client.post("/v1/printers", json=body, headers=self.auth)
        assert r.status == 201
        return await r.json()  # type: ignore[no-any-return]

    async def publish(self, data: EventData) -> None:
        await publish(self.bootstrap, data, source="gateway")

    async def get(self, path: str) -> tuple[int, Any]:
        r = await self.client.get(path, headers=self.auth)
        return r.status, await r.json(content_type=None)


def capabilities_report(
    p: dict[str, Any], caps: Capabilities = CAPS, at: datetime = T0
) -> DeviceCapabilitiesReported:
    """The gateway's report of a printer's capabilities."""
    return DeviceCapabilitiesReported(
        device_id=p["id"], tenant_id=p["tenant_id"], capabilities=caps, reported_at=at
    )


class Device:
    """A device's side of onboarding: its key pair and its requests."""

    def __init__(self, key: Any = None) -> None:
        self.private = key or ed25519.Ed25519PrivateKey.generate()
        self.public_text = b64url_encode(spki_der(self.private.public_key()))

    def poll_headers(self, registration_id: str, ts: int | None = None) -> dict[str, str]:
        ts = ts or int(time.time())
        sig = sign(self.private, poll_message(uuid.UUID(registration_id), ts))
        return {"X-Printcloud-Timestamp": str(ts), "X-Printcloud-Signature": b64url_encode(sig)}

    def register_headers(self) -> dict[str, str]:
        """Proof of the key when asking to join: the code is told only to its holder."""
        return registration_headers(self.private)
