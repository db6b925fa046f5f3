"""What the queues integration tests share: a queues app on real Kafka and Postgres,
access tokens it verifies (users' and devices'), and the other services' events
produced as they would publish them. (No tests here.)"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from services.queues.app import SPEC
from services.queues.settings import QueuesSettings
from shared.events.contracts.devices import ConnectorDevicesChanged
from shared.events.contracts.jobs import JobRouted
from shared.events.contracts.registry import (
    PrinterCapabilitiesChanged,
    PrinterRegistered,
    VirtualPrinterCreated,
)
from shared.events.contracts.users import UserCreated
from shared.events.envelope import EventData
from shared.http.auth import CompositeAuthenticator
from shared.printing.capabilities import Capabilities
from shared.testing.documents import pdf
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.support.apps import service_client
from tests.support.db import SchemaProbe
from tests.support.kafka import publish
from tests.support.tokens import FakeIssuer, Signer, trusting

OPERATOR_TOKEN = "op-" + uuid.uuid4().hex
DECISION_BASE = 1_000_000
CAPS = Capabilities(
    document_format_supported=["application/pdf", "image/pwg-raster", "image/jpeg"],
    media_supported=["iso_a4_210x297mm", "na_letter_8.5x11in"],
    sides_supported=["one-sided", "two-sided-long-edge"],
    print_color_mode_supported=["monochrome", "color"],
    copies_supported={"min": 1, "max": 99},
)
PDF = pdf(2)


@dataclasses.dataclass
class User:
    """A user of the rig's tenant and the Authorization header of their access token."""

    id: uuid.UUID
    headers: dict[str, str]


@dataclasses.dataclass
class Queues(SchemaProbe):
    """A started queues app, a token issuer it trusts, and helpers to drive it."""

    client: TestClient
    dsn: str
    schema: str
    bootstrap: str
    signer: Signer
    tenant: uuid.UUID

    # ---------------------------------------------------------------- credentials

    def token(self, **claims: Any) -> dict[str, str]:
        """An Authorization header with an access token of these claims."""
        return {"Authorization": f"Bearer {self.signer.token(**claims)}"}

    async def user(
        self,
        *,
        roles: list[str] | None = None,
        tenant: uuid.UUID | None = None,
        scope: str = "jobs:submit jobs:read",
        name: str = "Ada Lovelace",
    ) -> User:
        """A user (announced on auth.users, so printers show their name) and their token."""
        user_id = uuid.uuid4()
        tenant = tenant or self.tenant
        await self.publish(
            UserCreated(
                user_id=user_id,
                tenant_id=tenant,
                revision=1,
                kind="person",
                email=f"{unique('u')}@example.com",
                display_name=name,
                roles=sorted(roles or ["user"]),
                disabled=False,
            )
        )
        headers = self.token(
            sub=str(user_id), tenant_id=str(tenant), roles=roles or ["user"], scope=scope
        )
        return User(user_id, headers)

    def device(
        self, device_id: uuid.UUID, kind: str = "printer", tenant: uuid.UUID | None = None
    ) -> dict[str, str]:
        """A device access token's header (role and scope ``device``)."""
        return self.token(
            sub=str(device_id),
            tenant_id=str(tenant or self.tenant),
            roles=["device"],
            scope="device",
            device={"kind": kind},
        )

    # ----------------------------------------------------------------- events

    async def publish(self, *events: EventData, tenant: uuid.UUID | None = None) -> list[str]:
        """Publish events as their owners' relays would; returns their event ids."""
        sent = await publish(self.bootstrap, *events, tenant_id=tenant, client_id="test-queues")
        return [p.event_id for p in sent]

    async def printer(
        self,
        caps: Capabilities = CAPS,
        *,
        tenant: uuid.UUID | None = None,
        connector: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """A registered printer with capabilities, known to the queues' read model."""
        printer_id, tenant = uuid.uuid4(), tenant or self.tenant
        await self.publish(
            PrinterRegistered(
                printer_id=printer_id,
                tenant_id=tenant,
                revision=1,
                name=unique("printer"),
                model="LaserJet",
                region="eu-west",
                location=None,
            ),
            PrinterCapabilitiesChanged(
                printer_id=printer_id,
                tenant_id=tenant,
                version=1,
                capabilities=caps,
                fingerprint=caps.fingerprint(),
            ),
        )
        if connector is not None:
            await self.publish(
                ConnectorDevicesChanged(
                    connector_id=connector,
                    tenant_id=tenant,
                    revision=2,
                    devices=[{"printer_id": str(printer_id), "uri": "ipp://10.0.0.9/ipp/print"}],
                )
            )
            await self.until("SELECT 1 FROM printer_holders WHERE printer_id = $1", printer_id)
        await self.until(
            "SELECT 1 FROM printers WHERE id = $1 AND capabilities IS NOT NULL AND revision = 1",
            printer_id,
        )
        return printer_id

    async def virtual_printer(self, members: list[uuid.UUID]) -> uuid.UUID:
        """A virtual printer with these members, known to the read model."""
        vp = uuid.uuid4()
        await self.publish(
            VirtualPrinterCreated(
                virtual_printer_id=vp,
                tenant_id=self.tenant,
                revision=1,
                name=unique("vp"),
                members=members,
            )
        )
        await self.until("SELECT 1 FROM virtual_printers WHERE id = $1", vp)
        return vp

    async def route(
        self,
        job_id: Any,
        decision: int,
        action: str = "queue",
        printer_id: uuid.UUID | None = None,
        reason: str = "direct",
    ) -> str:
        """Routing's decision for a job; returns its event id (the causation id of what it
        causes). Numbered from DECISION_BASE: a routing service that other tests run on
        the same topics may decide about these jobs too, and its first decisions (1, 2...)
        are then older than these."""
        [event_id] = await self.publish(
            JobRouted(
                job_id=uuid.UUID(str(job_id)),
                tenant_id=self.tenant,
                decision=DECISION_BASE + decision,
                action=action,
                printer_id=printer_id,
                reason=reason,
                at=datetime.now(UTC),
            )
        )
        return event_id

    # ---------------------------------------------------------------- database

    async def state(self, job_id: Any, state: str, timeout: float = 30) -> None:
        """Wait until the job is in ``state``."""
        await self.until(
            "SELECT 1 FROM jobs WHERE id = $1 AND state = $2",
            uuid.UUID(str(job_id)),
            state,
            timeout=timeout,
        )

    # ------------------------------------------------------------------- HTTP

    async def upload(
        self, who: User, data: bytes = PDF, fmt: str = "application/pdf", **params: Any
    ) -> dict[str, Any]:
        """A stored document."""
        resp = await self.client.post(
            "/v1/documents", data=data, params=params, headers={**who.headers, "Content-Type": fmt}
        )
        assert resp.status == 201, await resp.text()
        return await resp.json()  # type: ignore[no-any-return]

    async def submit(self, who: User, expect: int = 201, **body: Any) -> dict[str, Any]:
        """POST /v1/jobs (a document is uploaded first when none is named)."""
        if "document_id" not in body:
            body["document_id"] = (await self.upload(who))["document_id"]
        resp = await self.client.post("/v1/jobs", json=body, headers=who.headers)
        assert resp.status == expect, await resp.text()
        return await resp.json(content_type=None)  # type: ignore[no-any-return]

    async def queued_job(self, who: User, printer_id: uuid.UUID, **body: Any) -> dict[str, Any]:
        """A job routed into the printer's queue."""
        job = await self.submit(who, printer_id=str(printer_id), **body)
        await self.route(job["id"], 1, printer_id=printer_id)
        await self.state(job["id"], "queued")
        return job


@contextlib.asynccontextmanager
async def queues_app(
    service_db: ServiceDbFactory, bootstrap: str, blob_dir: Path, **overrides: Any
) -> AsyncIterator[Queues]:
    """A migrated queues schema and the queues app on a real loopback port."""
    db = await service_db(unique("queues"), SPEC.migrations_dir)
    signer = Signer()
    issuer = FakeIssuer(signer)

    def authenticator(settings: Any) -> CompositeAuthenticator:
        return trusting(issuer, OPERATOR_TOKEN)

    settings = QueuesSettings(
        database_url=db.dsn,
        db_schema=db.name,
        kafka_bootstrap=bootstrap,
        operator_token=OPERATOR_TOKEN,
        outbox_poll_s=0.5,
        blob_dir=blob_dir,
        maintenance_interval_s=0.5,
        sse_heartbeat_s=1,
        public_url="http://queues.test",
        **overrides,
    )
    spec = dataclasses.replace(SPEC, authenticator=authenticator)
    async with service_client(spec, settings) as client:
        yield Queues(client, db.dsn, db.name, bootstrap, signer, uuid.uuid4())


def caused_by(event_id: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the envelopes an event caused."""
    return lambda e: e.get("causation_id") == event_id


def about(job_id: Any, *types: str) -> Callable[[dict[str, Any]], bool]:
    """Matches the envelopes of one job (of these types, when given)."""
    return lambda e: (
        e.get("data", {}).get("job_id") == str(job_id) and (not types or e.get("type") in types)
    )
