"""Routing on real Kafka and Postgres: upstream events (the registry's printers and
virtual printers, queues' jobs, counters' quotas) in, ``job.routed`` out on
``routing.decisions``, read back by job id (other tests share these topics)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.routing.app import SPEC
from services.routing.settings import RoutingSettings
from shared.events.contracts.jobs import JobCanceled, JobSent, JobSubmitted
from shared.events.contracts.quotas import QuotaStateChanged
from shared.events.contracts.registry import (
    PrinterCapabilitiesChanged,
    PrinterConnectionChanged,
    PrinterRegistered,
    VirtualPrinterCreated,
)
from shared.events.envelope import Envelope, EventData, new_envelope
from shared.kafka.topics import DEAD_LETTER_TOPIC
from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings
from shared.service import create_app
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.integration.conftest import eventually
from tests.support.auth import events_for

pytestmark = pytest.mark.integration
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
        found = await events_for(
            self.bootstrap, "routing.decisions", str(job.job_id), count=count, settle_s=settle_s
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
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        async with TestClient(TestServer(create_app(SPEC, settings))) as client:
            yield Routing(client, bootstrap, db.dsn, db.name, producer)
    finally:
        await producer.stop()


@pytest.fixture
async def routing(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[Routing]:
    async with start_routing(service_db, bootstrap) as started:
        yield started


def only(decisions: list[dict[str, Any]]) -> tuple[Any, ...]:
    return tuple((d["decision"], d["action"], d["printer_id"], d["reason"]) for d in decisions)


async def test_online_printer_gets_the_job_and_pull_print_is_held(routing: Routing) -> None:
    tenant = uuid.uuid4()
    pid = await routing.printer(tenant, online=True)
    direct = await routing.submit(tenant, printer_id=pid)
    vp = uuid.uuid4()
    created = VirtualPrinterCreated(
        virtual_printer_id=vp, tenant_id=tenant, revision=1, name="Floor 2", members=[pid]
    )
    await routing.publish(created)

    async def vp_known() -> bool:
        row = await routing.fetchrow(
            "SELECT 1 FROM virtual_printers WHERE virtual_printer_id = $1", vp
        )
        return row is not None

    await eventually(vp_known)
    pull = await routing.submit(tenant, virtual_printer_id=vp)
    assert only(await routing.decisions(direct, 1)) == ((1, "queue", str(pid), "direct"),)
    [held] = await routing.decisions(pull, 1)
    assert only([held]) == ((1, "hold", None, "pull"),)
    assert "'Floor 2'" in held["detail"]


async def test_offline_printer_fails_over_to_a_capable_alternative_or_holds(
    routing: Routing,
) -> None:
    tenant = uuid.uuid4()
    main = await routing.printer(tenant, online=False, name="Main")
    backup = await routing.printer(tenant, online=True, name="Backup")
    simplex = await routing.printer(tenant, online=True, caps=SIMPLEX, name="Simplex")
    await routing.put_policy(main, on_offline="failover", offline_after_s=60,
                             failover_printer_id=str(backup))  # fmt: skip
    moved = await routing.submit(tenant, printer_id=main, sides="two-sided-long-edge")
    [decision] = await routing.decisions(moved, 1)
    assert only([decision]) == ((1, "queue", str(backup), "failover"),)
    assert "'Main'" in decision["detail"] and "'Backup'" in decision["detail"]

    await routing.put_policy(main, on_offline="failover", offline_after_s=60,
                             failover_printer_id=str(simplex))  # fmt: skip
    held = await routing.submit(tenant, printer_id=main, sides="two-sided-long-edge")
    [decision] = await routing.decisions(held, 1)
    assert only([decision]) == ((1, "hold", None, "printer_offline"),)
    assert "cannot print this job" in decision["detail"] and "sides" in decision["detail"]

    # The printer comes back: its held job goes into its queue, without waiting for a sweep.
    await routing.connection(main, tenant, online=True, since=timedelta(0))
    decisions = await routing.decisions(held, 2)
    assert only(decisions)[1] == (2, "queue", str(main), "printer_online")
    assert (await routing.routing_of(held))["state"] == "queued"


async def test_sweep_moves_a_queued_job_off_a_printer_that_stays_offline(
    routing: Routing,
) -> None:
    tenant = uuid.uuid4()
    main = await routing.printer(tenant, online=True)
    backup = await routing.printer(tenant, online=True)
    await routing.put_policy(main, on_offline="failover", offline_after_s=1,
                             failover_printer_id=str(backup))  # fmt: skip
    job = await routing.submit(tenant, printer_id=main)
    assert only(await routing.decisions(job, 1)) == ((1, "queue", str(main), "direct"),)
    await routing.connection(main, tenant, online=False, since=timedelta(0))
    decisions = await routing.decisions(job, 2)
    assert only(decisions)[1] == (2, "queue", str(backup), "failover")


def quota_state(tenant: uuid.UUID, owner: uuid.UUID, **kw: Any) -> QuotaStateChanged:
    fields: dict[str, Any] = {
        "quota_id": uuid.uuid4(), "tenant_id": tenant, "subject_kind": "user",
        "subject_id": owner, "metric": "pages", "period": "month",
        "period_start": datetime.now(UTC).replace(day=1), "used": 512, "limit": 500,
        "policy": "hold", "exceeded": True,
    }  # fmt: skip
    fields.update(kw)
    return QuotaStateChanged(**fields)


async def test_quota_holds_until_an_override_and_warns(routing: Routing) -> None:
    tenant = uuid.uuid4()
    pid = await routing.printer(tenant, online=True)
    owner, warned = uuid.uuid4(), uuid.uuid4()
    hold = quota_state(tenant, owner)
    warn = quota_state(tenant, warned, policy="warn")
    await routing.publish(hold, source="counters")
    await routing.publish(warn, source="counters")

    async def quotas_known() -> bool:
        row = await routing.fetchrow(
            "SELECT count(*) FROM quotas WHERE quota_id = ANY($1::uuid[])",
            [hold.quota_id, warn.quota_id],
        )
        return row is not None and row[0] == 2

    await eventually(quotas_known)
    held = await routing.submit(tenant, printer_id=pid, owner=owner)
    printed = await routing.submit(tenant, printer_id=pid, owner=warned)
    [decision] = await routing.decisions(held, 1)
    assert only([decision]) == ((1, "hold", None, "quota"),)
    assert decision["detail"] == "over the monthly quota of 500 pages: 512 used"
    [decision] = await routing.decisions(printed, 1)
    assert only([decision]) == ((1, "queue", str(pid), "quota_warning"),)
    assert "over the monthly quota of 500 pages" in decision["detail"]

    override = hold.model_copy(update={"override_until": datetime.now(UTC) + timedelta(days=1)})
    await routing.publish(override, source="counters")
    decisions = await routing.decisions(held, 2)
    assert only(decisions)[1] == (2, "queue", str(pid), "quota_override")


async def test_a_canceled_job_is_not_routed_again(routing: Routing) -> None:
    tenant = uuid.uuid4()
    pid = await routing.printer(tenant, online=False)
    canceled = await routing.submit(tenant, printer_id=pid)
    kept = await routing.submit(tenant, printer_id=pid)
    for job in (canceled, kept):
        assert only(await routing.decisions(job, 1)) == ((1, "hold", None, "printer_offline"),)
    await routing.publish(JobCanceled(
        job_id=canceled.job_id, tenant_id=tenant, owner_id=canceled.owner_id,
        at=datetime.now(UTC), previous_state="held", by_user_id=canceled.owner_id,
        printer_id=None), source="queues")  # fmt: skip

    async def forgotten() -> bool:
        return (await routing.routing_of(canceled))["state"] == "finished"

    await eventually(forgotten)
    await routing.connection(pid, tenant, online=True, since=timedelta(0))
    assert only(await routing.decisions(kept, 2))[1][3] == "printer_online"
    # Several sweeps later the canceled job still has its one decision.
    assert len(await routing.decisions(canceled, 1, settle_s=2)) == 1
    assert len((await routing.routing_of(canceled))["decisions"]) == 1


async def test_a_redelivered_submission_is_decided_once(routing: Routing) -> None:
    tenant = uuid.uuid4()
    pid = await routing.printer(tenant, online=True)
    job = await routing.submit(tenant, printer_id=pid)
    assert len(await routing.decisions(job, 1)) == 1
    # The same envelope again (a redelivery), then the same job in a new envelope.
    first = new_envelope(job, source="queues", tenant_id=tenant)
    await routing.send(first, job.topic)
    await routing.send(first, job.topic)
    await routing.publish(job, source="queues")
    sending = JobSent(
        job_id=job.job_id,
        tenant_id=tenant,
        owner_id=job.owner_id,
        at=datetime.now(UTC),
        printer_id=pid,
    )
    await routing.publish(sending, source="queues")

    async def sent() -> bool:
        # job.sent follows the repeats on the job's partition: once applied, they were too.
        return (await routing.routing_of(job))["state"] == "sent"

    await eventually(sent)
    assert len(await routing.decisions(job, 1, settle_s=1)) == 1
    assert len((await routing.routing_of(job))["decisions"]) == 1


async def test_an_event_contradicting_a_printers_tenant_is_parked(routing: Routing) -> None:
    tenant = uuid.uuid4()
    pid = await routing.printer(tenant, online=True)
    intruder = uuid.uuid4()
    await routing.publish(PrinterConnectionChanged(
        printer_id=pid, tenant_id=intruder, connection_state="offline",
        at=datetime.now(UTC)))  # fmt: skip
    dlq = AIOKafkaConsumer(
        DEAD_LETTER_TOPIC, bootstrap_servers=routing.bootstrap, auto_offset_reset="earliest"
    )
    await dlq.start()
    group = f"{routing.schema}-replicas".encode()
    reasons: list[str] = []
    try:

        async def parked() -> bool:
            for records in (await dlq.getmany(timeout_ms=200)).values():
                reasons.extend(
                    dict(r.headers)["dlq.reason"].decode()
                    for r in records
                    if dict(r.headers).get("dlq.consumer") == group
                )
            return any(str(pid) in r for r in reasons)

        await eventually(parked)
    finally:
        await dlq.stop()
    assert any(f"printer {pid} belongs to another tenant" in r for r in reasons)
    row = await routing.fetchrow(
        "SELECT tenant_id, connection_state FROM printers WHERE printer_id = $1", pid
    )
    assert row is not None and (row["tenant_id"], row["connection_state"]) == (tenant, "online")
