"""Routing on real Kafka and Postgres: the service started on its own schema, and the
upstream services' voices (printers, jobs) publishing to it, decisions read back."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient
from aiokafka import AIOKafkaProducer

from services.routing.app import SPEC
from services.routing.settings import RoutingSettings
from shared.events.contracts.jobs import JobSubmitted
from shared.events.contracts.registry import (
    PrinterCapabilitiesChanged,
    PrinterConnectionChanged,
    PrinterRegistered,
)
from shared.events.envelope import Envelope, EventData, new_envelope
from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.support.apps import service_client
from tests.support.kafka import envelopes, kafka_options
from tests.support.waiting import eventually

TOKEN = "op-" + uuid.uuid4().hex
OPERATOR = {"Authorization": f"Bearer {TOKEN}"}
DUPLEX = Capabilities(
    document_format_supported=["application/pdf"],
    media_supported=["iso_a4_210x297mm"],
    sides_supported=["one-sided", "two-sided-long-edge"],
)
SIMPLEX = DUPLEX.model_copy(update={"sides_supported": ["one-sided"]})
LONG_AGO = timedelta(hours=1)


@dataclass
class Routing:
    """A started routing service, its schema, and the upstream services' voices."""

    client: TestClient
    bootstrap: str
    dsn: str
    schema: str
    producer: AIOKafkaProducer

    async def send(self, envelope: Envelope, topic: str) -> None:
        await self.producer.send_and_wait(topic, envelope.to_bytes(), key=envelope.key.encode())

    async def publish(self, data: EventData, source: str = "registry") -> Envelope:
        env = new_envelope(data, source=source, tenant_id=getattr(data, "tenant_id", None))
        await self.send(env, data.topic)
        return env

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        conn = await asyncpg.connect(self.dsn, server_settings={"search_path": self.schema})
        try:
            return await conn.fetchrow(sql, *args)
        finally:
            await conn.close()

    async def printer(
        self,
        tenant: uuid.UUID,
        *,
        online: bool,
        since: timedelta = LONG_AGO,
        caps: Capabilities = DUPLEX,
        name: str = "P",
    ) -> uuid.UUID:
        """A printer registered, reporting ``caps``, online or offline for ``since``."""
        pid = uuid.uuid4()
        await self.publish(PrinterRegistered(
            printer_id=pid, tenant_id=tenant, revision=1, name=name, model="M",
            region="eu-west", location=None))  # fmt: skip
        await self.publish(PrinterCapabilitiesChanged(
            printer_id=pid, tenant_id=tenant, version=1, capabilities=caps,
            fingerprint=caps.fingerprint()))  # fmt: skip
        await self.connection(pid, tenant, online=online, since=since)
        return pid

    async def connection(
        self, pid: uuid.UUID, tenant: uuid.UUID, *, online: bool, since: timedelta = LONG_AGO
    ) -> None:
        state = "online" if online else "offline"
        await self.publish(PrinterConnectionChanged(
            printer_id=pid, tenant_id=tenant, connection_state=state,
            at=datetime.now(UTC) - since))  # fmt: skip

        async def applied() -> bool:
            row = await self.fetchrow(
                "SELECT connection_state, capabilities_version FROM printers WHERE printer_id = $1",
                pid,
            )
            return row is not None and row["connection_state"] == state and row[1] >= 1

        await eventually(applied)

    async def submit(
        self,
        tenant: uuid.UUID,
        *,
        printer_id: uuid.UUID | None = None,
        virtual_printer_id: uuid.UUID | None = None,
        owner: uuid.UUID | None = None,
        sides: Any = None,
        pages: int = 3,
    ) -> JobSubmitted:
        job = JobSubmitted(
            job_id=uuid.uuid4(), tenant_id=tenant, owner_id=owner or uuid.uuid4(),
            at=datetime.now(UTC), printer_id=printer_id, virtual_printer_id=virtual_printer_id,
            release="pull" if virtual_printer_id else "direct", title="Report",
            document_id=uuid.uuid4(), document_sha256="0" * 64, document_size=1000,
            document_format="application/pdf", pages=pages, printed_pages=pages, colour=False,
            settings=JobSettings(sides=sides), hold_until_release=virtual_printer_id is not None,
        )  # fmt: skip
        await self.publish(job, source="queues")
        return job

    async def decisions(
        self, job: JobSubmitted, count: int, settle_s: float = 0.0
    ) -> list[dict[str, Any]]:
        """The job's decisions on routing.decisions, in order."""
        found = await envelopes(
            self.bootstrap, "routing.decisions", key=str(job.job_id), count=count, settle_s=settle_s
        )
        assert all(e["type"] == "job.routed" and e["source"] == "routing" for e in found)
        return [e["data"] for e in found]

    async def put_policy(self, pid: uuid.UUID, **body: Any) -> Any:
        r = await self.client.put(f"/v1/printers/{pid}/routing-policy", json=body, headers=OPERATOR)
        assert r.status == 200, await r.text()
        return await r.json()

    async def routing_of(self, job: JobSubmitted) -> Any:
        r = await self.client.get(f"/v1/jobs/{job.job_id}/routing", headers=OPERATOR)
        return await r.json(content_type=None) if r.status == 200 else None


@contextlib.asynccontextmanager
async def start_routing(
    service_db: ServiceDbFactory, bootstrap: str, **overrides: Any
) -> AsyncIterator[Routing]:
    """A migrated routing schema and the routing app on a real loopback port."""
    db = await service_db(unique("routing"), SPEC.migrations_dir)
    values: dict[str, Any] = {
        "database_url": db.dsn, "db_schema": db.name, "kafka_bootstrap": bootstrap,
        "operator_token": TOKEN, "outbox_poll_s": 0.5, "sweep_interval_s": 0.5,
    }  # fmt: skip
    settings = RoutingSettings(**{**values, **overrides})
    producer = AIOKafkaProducer(**kafka_options(bootstrap), enable_idempotence=True)
    await producer.start()
    try:
        async with service_client(SPEC, settings) as client:
            yield Routing(client, bootstrap, db.dsn, db.name, producer)
    finally:
        await producer.stop()


def only(decisions: list[dict[str, Any]]) -> tuple[Any, ...]:
    """(decision, action, printer, reason) of each decision."""
    return tuple((d["decision"], d["action"], d["printer_id"], d["reason"]) for d in decisions)
