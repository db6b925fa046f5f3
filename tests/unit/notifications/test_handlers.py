"""Notifications' handlers against an in-memory repository: endpoints refuse unsafe URLs
and keep their secrets sealed; events are queued once for each endpoint that hears them
(types, printers, users, tokens, a job's callback); attempts retry, give up, and switch
off an endpoint that keeps failing, announcing it; rotation keeps the old secret signing
for the overlap."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notifications.domain.commands import CreateEndpoint, RotateSecret, UpdateEndpoint
from services.notifications.domain.events import WebhookEndpointDisabled
from services.notifications.domain.model import Claimed, Outcome
from services.notifications.handlers import deliveries, endpoints, notices
from services.notifications.handlers.deliveries import RetryPolicy
from shared.crypto.sealing import KeyEncryptionKey, new_key_text
from shared.errors import NotFound, ValidationFailed
from shared.events.contracts.jobs import JobCompleted, JobOriginRecorded, JobQueued, JobSubmitted
from shared.events.contracts.quotas import QuotaStateChanged
from shared.events.envelope import EventData, new_envelope
from shared.events.registry import DecodedEvent
from shared.http.auth import Principal
from shared.printing.settings import JobSettings
from shared.testing.uow import InMemoryTransactions
from tests.support.fakes.notifications import FakeNotificationsRepository

TENANT = uuid.uuid4()
KEK = KeyEncryptionKey.from_text(new_key_text())
Tx = InMemoryTransactions[FakeNotificationsRepository]
POLICY = RetryPolicy(base_s=1, cap_s=60, retry_for_s=3600, disable_after_failures=3,
                     disable_after_s=0)  # fmt: skip


@pytest.fixture
def tx() -> Tx:
    return InMemoryTransactions(FakeNotificationsRepository())


def admin_of(tenant: uuid.UUID = TENANT) -> Principal:
    return Principal(
        subject="admin-1", tenant_id=tenant, roles=frozenset({"admin"}),
        scopes=frozenset({"printers:read", "printers:write"}),
    )  # fmt: skip


async def anything(url: str) -> str | None:
    return None


async def refuse_internal(url: str) -> str | None:
    return (
        "internal.example resolves to 10.0.0.5, which is a private address"
        if "internal" in url
        else None
    )


async def endpoint(tx: Tx, url: str = "https://hooks.example/print", **kw: Any) -> Any:
    cmd = CreateEndpoint(url=url, event_types=kw.pop("event_types", ["job.*"]), **kw)
    created, _ = await endpoints.create_endpoint(tx, cmd, admin_of(), KEK, anything)
    return created


async def apply(tx: Tx, data: EventData, handler: Any = notices.job_changed) -> None:
    event = DecodedEvent(new_envelope(data, source="test", tenant_id=data.tenant_id), data)  # type: ignore[attr-defined]
    async with tx() as uow:
        await handler(uow, event)


def submitted(job: uuid.UUID, owner: uuid.UUID, printer: uuid.UUID) -> JobSubmitted:
    return JobSubmitted(
        job_id=job, tenant_id=TENANT, owner_id=owner, at=datetime.now(UTC), printer_id=printer,
        virtual_printer_id=None, release="direct", title="Report", document_id=uuid.uuid4(),
        document_sha256="0" * 64, document_size=10, document_format="application/pdf", pages=1,
        printed_pages=1, colour=False, settings=JobSettings(),
    )  # fmt: skip


def origin(job: uuid.UUID, owner: uuid.UUID, token: uuid.UUID | None, url: str) -> EventData:
    return JobOriginRecorded(
        job_id=job, tenant_id=TENANT, owner_id=owner, at=datetime.now(UTC), token_id=token,
        callback_url=url,
    )  # fmt: skip


def completed(job: uuid.UUID, owner: uuid.UUID, printer: uuid.UUID) -> JobCompleted:
    return JobCompleted(
        job_id=job, tenant_id=TENANT, owner_id=owner, at=datetime.now(UTC), printer_id=printer,
        pages=1, printed_pages=1, colour_pages=0, sheets=1, copies=1, sides="one-sided",
        media=None,
    )  # fmt: skip


def queued_for(tx: Tx, endpoint_id: uuid.UUID) -> list[tuple[str, str]]:
    return [(d.event_type, d.url) for d in sorted(tx.repo.deliveries.values(), key=lambda d: d.id)
            if d.endpoint_id == endpoint_id]  # fmt: skip


async def test_an_endpoint_is_made_with_a_sealed_secret_shown_once(tx: Tx) -> None:
    cmd = CreateEndpoint(url="https://hooks.example/print", event_types=["job.completed"])
    created, secret = await endpoints.create_endpoint(tx, cmd, admin_of(), KEK, anything)
    assert secret.startswith("whsec_") and created.tenant_id == TENANT and created.enabled
    [stored] = await tx.repo.secrets(created.id)
    assert secret.encode() not in stored.sealed
    assert KEK.open(stored.sealed, aad=created.id.bytes).decode() == secret


async def test_an_unsafe_url_is_refused_with_its_reason_and_nothing_is_stored(tx: Tx) -> None:
    cmd = CreateEndpoint(url="https://internal.example/hook", event_types=["*"])
    with pytest.raises(ValidationFailed) as refused:
        await endpoints.create_endpoint(tx, cmd, admin_of(), KEK, refuse_internal)
    [error] = refused.value.errors
    assert error.field == "url" and "10.0.0.5, which is a private address" in error.reason
    assert not tx.repo.endpoints and not tx.repo.secret_rows


async def test_unknown_event_types_are_refused_by_the_command() -> None:
    with pytest.raises(ValueError, match="unknown event types"):
        CreateEndpoint(url="https://hooks.example/print", event_types=["job.exploded"])


async def test_a_job_event_goes_to_every_endpoint_that_hears_it_once(tx: Tx) -> None:
    owner, printer, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    every = await endpoint(tx)
    done_only = await endpoint(tx, "https://b.example/x", event_types=["job.completed"])
    elsewhere = await endpoint(tx, "https://c.example/x", printer_ids=[other])
    theirs = await endpoint(tx, "https://d.example/x", user_ids=[uuid.uuid4()])
    job = uuid.uuid4()
    event = submitted(job, owner, printer)
    await apply(tx, event)
    await apply(tx, completed(job, owner, printer))
    assert queued_for(tx, every.id) == [
        ("job.submitted", every.url), ("job.completed", every.url)
    ]  # fmt: skip
    assert queued_for(tx, done_only.id) == [("job.completed", done_only.url)]
    assert queued_for(tx, elsewhere.id) == [] and queued_for(tx, theirs.id) == []
    d = next(iter(tx.repo.deliveries.values()))
    assert d.order_key == f"job:{job}"
    assert tx.repo.bodies[d.id]["type"] == "job.submitted"
    assert tx.repo.bodies[d.id]["data"]["job_id"] == str(job)


async def test_the_token_filter_and_the_callback_come_from_the_jobs_origin(tx: Tx) -> None:
    owner, printer, token = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    app = await endpoint(tx, "https://app.example/hooks", event_types=["job.completed"],
                         token_ids=[token])  # fmt: skip
    other_app = await endpoint(tx, "https://other.example/h", token_ids=[uuid.uuid4()])
    job = uuid.uuid4()
    callback = "https://app.example/hooks/jobs/42"
    await apply(tx, origin(job, owner, token, callback))
    await apply(tx, submitted(job, owner, printer))
    await apply(tx, JobQueued(job_id=job, tenant_id=TENANT, owner_id=owner, at=datetime.now(UTC),
                              printer_id=printer, reason="direct"))  # fmt: skip
    await apply(tx, completed(job, owner, printer))
    assert queued_for(tx, app.id) == [
        ("job.submitted", callback), ("job.queued", callback),
        ("job.completed", app.url), ("job.completed", callback),
    ]  # fmt: skip
    assert queued_for(tx, other_app.id) == []


async def test_a_callback_under_no_endpoint_of_the_tenant_is_not_called(tx: Tx) -> None:
    owner, printer = uuid.uuid4(), uuid.uuid4()
    only = await endpoint(
        tx, "https://app.example/hooks", event_types=["printer.connection_changed"]
    )
    job = uuid.uuid4()
    for url in ("https://app.example.evil.test/hooks/1", "https://app.example/hooksx/1"):
        await apply(tx, origin(job, owner, None, url))
        await apply(tx, submitted(job, owner, printer))
    assert queued_for(tx, only.id) == []


async def test_a_quota_is_told_exceeded_once_per_period(tx: Tx) -> None:
    hook = await endpoint(tx, event_types=["quota.exceeded"])
    start = datetime(2026, 11, 1, tzinfo=UTC)

    def state(used: int, period_start: datetime = start) -> QuotaStateChanged:
        return QuotaStateChanged(
            quota_id=quota, tenant_id=TENANT, subject_kind="user", subject_id=uuid.uuid4(),
            metric="pages", period="month", period_start=period_start, used=used, limit=10,
            policy="hold", exceeded=used >= 10,
        )  # fmt: skip

    quota = uuid.uuid4()
    for used in (5, 10, 12, 3):
        await apply(tx, state(used), notices.quota_changed)
    await apply(tx, state(11, start + timedelta(days=30)), notices.quota_changed)
    assert [t for t, _ in queued_for(tx, hook.id)] == ["quota.exceeded", "quota.exceeded"]


def claimed_of(tx: Tx, delivery_id: int, attempts: int, age_s: float = 0) -> Claimed:
    d = tx.repo.deliveries[delivery_id]
    return Claimed(
        id=d.id, endpoint_id=d.endpoint_id, url=d.url, message_id=d.message_id,
        event_type=d.event_type, body="{}", attempts=attempts,
        created_at=datetime.now(UTC) - timedelta(seconds=age_s),
    )  # fmt: skip


async def test_failures_retry_then_give_up_and_an_endpoint_that_keeps_failing_is_disabled(
    tx: Tx,
) -> None:
    hook = await endpoint(tx)
    owner, printer = uuid.uuid4(), uuid.uuid4()
    await apply(tx, submitted(uuid.uuid4(), owner, printer))
    await apply(tx, submitted(uuid.uuid4(), owner, printer))
    await apply(tx, submitted(uuid.uuid4(), owner, printer))
    down = Outcome(status=503, latency_ms=12, response="busy")
    assert await deliveries.attempted(tx, claimed_of(tx, 1, 1), down, POLICY) == "pending"
    assert tx.repo.deliveries[1].last_status == 503 and tx.repo.deliveries[1].attempts == 1
    late = claimed_of(tx, 2, 7, age_s=POLICY.retry_for_s + 1)
    assert await deliveries.attempted(tx, late, down, POLICY) == "failed"
    assert tx.repo.endpoints[hook.id].enabled and not tx.announced()
    refused = Outcome(status=None, latency_ms=0, error="refused: 10.0.0.1 is a private address")
    await deliveries.attempted(tx, claimed_of(tx, 3, 1), refused, POLICY)
    after = tx.repo.endpoints[hook.id]
    assert not after.enabled and "10.0.0.1 is a private address" in (after.disabled_reason or "")
    [disabled] = tx.announced(WebhookEndpointDisabled)
    assert disabled.endpoint_id == hook.id and disabled.consecutive_failures == 3  # type: ignore[attr-defined]
    on = await endpoints.update_endpoint(
        tx, hook.id, UpdateEndpoint(enabled=True), admin_of(), anything
    )
    assert on.enabled and on.consecutive_failures == 0 and on.disabled_reason is None


async def test_a_success_ends_the_run_of_failures_and_is_logged(tx: Tx) -> None:
    hook = await endpoint(tx)
    await apply(tx, submitted(uuid.uuid4(), uuid.uuid4(), uuid.uuid4()))
    await apply(tx, submitted(uuid.uuid4(), uuid.uuid4(), uuid.uuid4()))
    await deliveries.attempted(tx, claimed_of(tx, 1, 1), Outcome(status=500, latency_ms=5), POLICY)
    await deliveries.attempted(tx, claimed_of(tx, 1, 2), Outcome(status=204, latency_ms=7), POLICY)
    assert tx.repo.endpoints[hook.id].consecutive_failures == 0
    one = await deliveries.get_delivery(tx, hook.id, 1, admin_of())
    assert one.state == "succeeded" and [a.status for a in one.history] == [500, 204]
    log = await deliveries.delivery_log(tx, hook.id, admin_of(), None, None, 10)
    assert [d.id for d in log] == [2, 1]
    again = await deliveries.redeliver(tx, hook.id, 1, admin_of())
    assert again.manual and again.message_id == one.message_id and again.state == "pending"


async def test_another_tenant_sees_no_endpoint_and_no_log(tx: Tx) -> None:
    hook = await endpoint(tx)
    stranger = admin_of(uuid.uuid4())
    with pytest.raises(NotFound):
        await endpoints.get_endpoint(tx, hook.id, stranger)
    with pytest.raises(NotFound):
        await deliveries.delivery_log(tx, hook.id, stranger, None, None, 10)
    assert await endpoints.list_endpoints(tx, stranger, None, 10) == []


async def test_rotation_keeps_the_old_secret_signing_for_the_overlap(tx: Tx) -> None:
    cmd = CreateEndpoint(url="https://hooks.example/print", event_types=["*"])
    hook, first = await endpoints.create_endpoint(tx, cmd, admin_of(), KEK, anything)
    _, second, until = await endpoints.rotate_secret(
        tx, hook.id, RotateSecret(overlap_s=3600), admin_of(), KEK, 86400
    )
    opened = [
        KEK.open(s.sealed, aad=hook.id.bytes).decode() for s in await tx.repo.secrets(hook.id)
    ]
    assert sorted(opened) == sorted([first, second]) and first != second
    assert timedelta(minutes=59) < until - datetime.now(UTC) <= timedelta(hours=1)
    await endpoints.rotate_secret(tx, hook.id, RotateSecret(overlap_s=0), admin_of(), KEK, 86400)
    assert len(await tx.repo.secrets(hook.id)) == 1
