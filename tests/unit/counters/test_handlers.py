"""Counters' handlers against an in-memory repository: counters stay monotonic (a reset
adds nothing and is announced), a job's usage counts once, quotas follow their period,
their limit and their overrides, and a refusal announces nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.counters.domain.commands import AddOverride, CreateQuota, UpdateQuota
from services.counters.domain.errors import QuotaNotFound
from services.counters.domain.events import CounterResetDetected, QuotaStateChanged, UsageRolledUp
from services.counters.domain.model import EventOrigin, period_start
from services.counters.handlers import quotas, readings, usage
from services.counters.handlers.readings import ReadingHandler
from shared.errors import DomainError
from shared.events.contracts.gateway import CounterValue, DeviceCountersReported
from shared.events.contracts.jobs import JobCompleted
from shared.events.envelope import new_envelope
from shared.events.registry import DecodedEvent
from shared.http.auth import Principal
from shared.kafka.topics import DEAD_LETTER_TOPIC
from shared.testing.uow import InMemoryTransactions
from tests.support.fakes.counters import FakeCountersRepository

TENANT = uuid.uuid4()
PRINTER = uuid.uuid4()
ALICE = uuid.uuid4()
BOB = uuid.uuid4()
T0 = datetime.now(UTC).replace(microsecond=0)
CONSUMER = "counters-device-counters"

Tx = InMemoryTransactions[FakeCountersRepository]


@pytest.fixture
def tx() -> Tx:
    return InMemoryTransactions(FakeCountersRepository())


def admin(tenant: uuid.UUID = TENANT) -> Principal:
    return Principal(subject="admin-1", tenant_id=tenant, roles=frozenset({"admin"}))


def decoded(data: Any) -> DecodedEvent[Any]:
    return DecodedEvent(new_envelope(data, source="test", tenant_id=data.tenant_id), data)


def reading(
    total: int, *, at: datetime = T0, before: int = 7, after: int = 7, tenant: uuid.UUID = TENANT
) -> DecodedEvent[Any]:
    return decoded(
        DeviceCountersReported(
            device_id=PRINTER, tenant_id=tenant, reading_id=uuid.uuid4(),
            counters=[CounterValue(name="total", value=total)], activity_before=before,
            activity_after=after, reported_at=at,
        )
    )  # fmt: skip


def completed(owner: uuid.UUID = ALICE, pages: int = 3, colour: int = 1, **kw: Any) -> JobCompleted:
    return JobCompleted(
        job_id=kw.get("job_id", uuid.uuid4()), tenant_id=TENANT, owner_id=owner,
        at=kw.get("at", datetime.now(UTC)), printer_id=PRINTER, pages=pages,
        printed_pages=pages, colour_pages=colour, sheets=pages, copies=1, sides="one-sided",
        media=None,
    )  # fmt: skip


def usage_of(repo: FakeCountersRepository) -> int:
    return repo.counters[(PRINTER, "total")].usage


# ------------------------------------------------------------------ device counters


async def test_readings_add_increments_and_a_reset_adds_nothing_but_is_announced(tx: Tx) -> None:
    apply = ReadingHandler(CONSUMER)
    await apply(tx, reading(100, at=T0))
    assert usage_of(tx.repo) == 0  # the first reading is the base
    await apply(tx, reading(130, at=T0 + timedelta(minutes=1)))
    assert usage_of(tx.repo) == 30
    assert tx.announced() == []

    await apply(tx, reading(5, at=T0 + timedelta(minutes=2)))  # the device reset its counter
    kept = tx.repo.counters[(PRINTER, "total")]
    assert (kept.value, kept.usage) == (5, 30)  # never negative usage
    (reset,) = tx.announced(CounterResetDetected)
    assert (reset.counter, reset.previous_value, reset.new_value) == ("total", 130, 5)
    assert tx.events[-1].tenant_id == TENANT

    await apply(tx, reading(12, at=T0 + timedelta(minutes=3)))
    assert usage_of(tx.repo) == 37


async def test_a_repeated_or_older_reading_changes_nothing(tx: Tx) -> None:
    apply = ReadingHandler(CONSUMER)
    first = reading(100, at=T0 + timedelta(minutes=5))
    await apply(tx, first)
    await apply(tx, reading(150, at=T0 + timedelta(minutes=6)))
    await apply(tx, first)  # the same reading again
    older = reading(170, at=T0)
    await apply(tx, older)
    assert usage_of(tx.repo) == 50
    assert tx.repo.readings[older.data.reading_id].outcome == "out_of_order"
    same = reading(150, at=T0 + timedelta(minutes=7))
    await apply(tx, same)
    assert tx.repo.readings[same.data.reading_id].outcome == "unchanged"
    assert tx.announced() == []


async def test_an_inconsistent_reading_is_parked_once_and_announces_nothing(tx: Tx) -> None:
    apply = ReadingHandler(CONSUMER)
    refused = reading(500, before=7, after=8)
    tx.repo.inbox[(CONSUMER, refused.envelope.event_id)] = EventOrigin("devices.telemetry", 4, 41)
    await apply(tx, refused)
    await apply(tx, refused)  # redelivered: recorded and parked once
    assert tx.repo.counters == {} and tx.repo.readings == {}
    assert list(tx.repo.refusals) == [refused.envelope.event_id]
    (parked,) = tx.repo.raw_outbox
    assert parked["topic"] == DEAD_LETTER_TOPIC
    assert parked["event_id"] == refused.envelope.event_id
    assert parked["payload"] == refused.envelope.to_json()
    assert "job activity 7 before the read, 8 after it" in str(parked["headers"])
    assert "41" in parked["headers"].values()
    assert tx.announced() == []


async def test_a_reading_of_another_tenant_is_refused_and_changes_nothing(tx: Tx) -> None:
    apply = ReadingHandler(CONSUMER)
    await apply(tx, reading(100))
    before = dict(tx.repo.counters)
    foreign = reading(999_999, at=T0 + timedelta(minutes=5), tenant=uuid.uuid4())
    await apply(tx, foreign)
    assert tx.repo.counters == before  # the printer's readings are not taken over
    assert [c.value for c in await tx.repo.printer_counters(PRINTER)] == [100]
    assert list(tx.repo.refusals) == [foreign.envelope.event_id]
    (parked,) = tx.repo.raw_outbox
    assert parked["event_id"] == foreign.envelope.event_id
    assert "another tenant" in str(parked["headers"])
    assert tx.announced() == []


async def test_printer_counters_are_read_in_counter_order(tx: Tx) -> None:
    await ReadingHandler(CONSUMER)(tx, reading(10))
    (kept,) = await readings.printer_counters(tx, PRINTER)
    assert (kept.counter, kept.value, kept.tenant_id) == ("total", 10, TENANT)
    assert await readings.printer_counters(tx, uuid.uuid4()) == []


# ------------------------------------------------------------------ usage per job


async def test_a_job_counts_once_against_its_owners_quotas(tx: Tx) -> None:
    cmd = CreateQuota(subject_kind="user", subject_id=ALICE, metric="pages", period="month",
                      limit=10)  # fmt: skip
    quota = await quotas.create_quota(tx, cmd, TENANT)
    job = completed(pages=4, job_id=uuid.uuid4())
    changed = await usage.record_completed(tx, job)
    assert [q.used for q in changed] == [4]
    assert await usage.record_completed(tx, job) == []  # the same completion again
    assert tx.repo.quotas[quota.id].used == 4
    assert len(tx.repo.jobs) == 1
    states = tx.announced(QuotaStateChanged)
    assert [s.used for s in states] == [0, 4]


async def test_a_job_of_another_user_or_period_does_not_count(tx: Tx) -> None:
    mine = await quotas.create_quota(
        tx, CreateQuota(subject_kind="user", subject_id=ALICE, metric="colour_pages",
                        period="day", limit=10), TENANT,
    )  # fmt: skip
    before = len(tx.events)
    await usage.record_completed(tx, completed(owner=BOB, pages=5, colour=5))
    last_period = period_start("day", datetime.now(UTC)) - timedelta(hours=1)
    await usage.record_completed(tx, completed(owner=ALICE, pages=5, colour=5, at=last_period))
    await usage.record_completed(tx, completed(owner=ALICE, pages=5, colour=0))
    assert tx.repo.quotas[mine.id].used == 0
    assert len(tx.events) == before


async def test_group_and_tenant_quotas_count_their_members_jobs(tx: Tx) -> None:
    group = await quotas.create_quota(
        tx, CreateQuota(subject_kind="group", subject_id=uuid.uuid4(), members=[ALICE, ALICE],
                        metric="pages", period="week", limit=100), TENANT,
    )  # fmt: skip
    whole = await quotas.create_quota(
        tx, CreateQuota(subject_kind="tenant", metric="pages", period="year", limit=100), TENANT
    )
    assert group.members == (ALICE,)
    assert whole.subject_id == TENANT
    await usage.record_completed(tx, completed(owner=ALICE, pages=2))
    await usage.record_completed(tx, completed(owner=BOB, pages=3))
    assert tx.repo.quotas[group.id].used == 2
    assert tx.repo.quotas[whole.id].used == 5


async def test_rolled_up_windows_keep_the_totals_with_the_most_jobs(tx: Tx) -> None:
    start = T0.replace(minute=0, second=0)

    def rolled(jobs: int) -> UsageRolledUp:
        return UsageRolledUp(
            tenant_id=TENANT, granularity="hour", window_start=start,
            window_end=start + timedelta(hours=1), dimension="tenant", subject_id=TENANT,
            pages=jobs * 2, colour_pages=0, jobs=jobs, sheets=jobs, duplex_sheets=jobs // 2,
        )  # fmt: skip

    await usage.keep_windows(tx, [rolled(3), rolled(2)])
    await usage.keep_windows(tx, [rolled(1)])
    (window,) = await usage.usage_windows(
        tx, tenant_id=TENANT, granularity="hour", dimension="tenant", subject_id=TENANT,
        start=None, end=None, limit=10,
    )  # fmt: skip
    assert (window.jobs, window.pages, window.sheets, window.duplex_sheets) == (3, 6, 3, 1)


# ------------------------------------------------------------------ quotas


async def test_a_quota_reaching_its_limit_is_exceeded(tx: Tx) -> None:
    quota = await quotas.create_quota(
        tx, CreateQuota(subject_kind="user", subject_id=ALICE, metric="pages", period="day",
                        limit=5, policy="hold"), TENANT,
    )  # fmt: skip
    await usage.record_completed(tx, completed(pages=4))
    assert tx.announced(QuotaStateChanged)[-1].exceeded is False
    await usage.record_completed(tx, completed(pages=1))
    last = tx.announced(QuotaStateChanged)[-1]
    assert (last.quota_id, last.used, last.exceeded, last.policy) == (quota.id, 5, True, "hold")


async def test_a_tenant_quota_about_another_tenant_is_refused(tx: Tx) -> None:
    cmd = CreateQuota(subject_kind="tenant", subject_id=uuid.uuid4(), metric="pages",
                      period="day", limit=5)  # fmt: skip
    with pytest.raises(DomainError) as refused:
        await quotas.create_quota(tx, cmd, TENANT)
    assert refused.value.code == "validation-failed"
    assert tx.repo.quotas == {} and tx.events == []


async def test_update_publishes_only_a_change(tx: Tx) -> None:
    quota = await quotas.create_quota(
        tx, CreateQuota(subject_kind="user", subject_id=ALICE, metric="pages", period="day",
                        limit=5), TENANT,
    )  # fmt: skip
    same = await quotas.update_quota(tx, quota.id, UpdateQuota(limit=5), admin())
    assert same == quota and len(tx.events) == 1
    changed = await quotas.update_quota(tx, quota.id, UpdateQuota(limit=9, policy="warn"), admin())
    assert (changed.limit, changed.policy, changed.revision) == (9, "warn", 2)
    assert tx.announced(QuotaStateChanged)[-1].limit == 9


async def test_members_of_a_quota_that_is_not_a_groups_are_refused(tx: Tx) -> None:
    quota = await quotas.create_quota(
        tx, CreateQuota(subject_kind="user", subject_id=ALICE, metric="pages", period="day",
                        limit=5), TENANT,
    )  # fmt: skip
    with pytest.raises(DomainError) as refused:
        await quotas.update_quota(tx, quota.id, UpdateQuota(members=[BOB]), admin())
    assert refused.value.code == "validation-failed"
    assert tx.repo.quotas[quota.id] == quota
    assert len(tx.events) == 1 and tx.rollbacks == 1


async def test_another_tenants_quota_is_answered_as_missing(tx: Tx) -> None:
    quota = await quotas.create_quota(
        tx, CreateQuota(subject_kind="tenant", metric="pages", period="day", limit=5), TENANT
    )
    stranger = admin(uuid.uuid4())
    calls = [
        quotas.get_quota(tx, quota.id, stranger),
        quotas.update_quota(tx, quota.id, UpdateQuota(limit=1), stranger),
        quotas.delete_quota(tx, quota.id, stranger),
        quotas.add_override(
            tx, quota.id, AddOverride(until=T0 + timedelta(days=1), reason="x"), stranger
        ),
        quotas.get_quota(tx, uuid.uuid4(), admin()),
    ]
    for call in calls:
        with pytest.raises(QuotaNotFound) as missing:
            await call
        assert missing.value.code == "quota-not-found"
    assert tx.repo.quotas[quota.id] == quota
    assert len(tx.events) == 1


async def test_an_override_lets_the_subject_print_on_until_it_ends(tx: Tx) -> None:
    quota = await quotas.create_quota(
        tx, CreateQuota(subject_kind="user", subject_id=ALICE, metric="pages", period="day",
                        limit=1), TENANT,
    )  # fmt: skip
    until = datetime.now(UTC) + timedelta(hours=2)
    after = await quotas.add_override(
        tx, quota.id, AddOverride(until=until, reason="year-end report"), admin()
    )
    assert (after.override_until, after.override_reason, after.revision) == (
        until, "year-end report", 2,
    )  # fmt: skip
    assert tx.repo.overrides == [(quota.id, until, "year-end report", "admin-1")]
    assert tx.announced(QuotaStateChanged)[-1].override_until == until

    with pytest.raises(DomainError) as refused:
        await quotas.add_override(
            tx, quota.id, AddOverride(until=datetime.now(UTC) - timedelta(seconds=1), reason="x"),
            admin(),
        )  # fmt: skip
    assert refused.value.code == "validation-failed"
    assert len(tx.repo.overrides) == 1 and len(tx.events) == 2


async def test_a_deleted_quota_announces_its_last_state_as_deleted(tx: Tx) -> None:
    quota = await quotas.create_quota(
        tx, CreateQuota(subject_kind="tenant", metric="pages", period="day", limit=5), TENANT
    )
    await quotas.delete_quota(tx, quota.id, admin())
    assert tx.repo.quotas == {}
    last = tx.announced(QuotaStateChanged)[-1]
    assert (last.quota_id, last.deleted) == (quota.id, True)


async def test_a_new_period_starts_at_zero(tx: Tx) -> None:
    quota = await quotas.create_quota(
        tx, CreateQuota(subject_kind="tenant", metric="pages", period="day", limit=5), TENANT
    )
    await usage.record_completed(tx, completed(pages=5))
    assert await quotas.roll_over(tx) == 0  # its period has not ended
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert await quotas.roll_over(tx, now=tomorrow) == 1
    rolled = tx.repo.quotas[quota.id]
    assert (rolled.used, rolled.period_start) == (0, period_start("day", tomorrow))
    last = tx.announced(QuotaStateChanged)[-1]
    assert (last.used, last.exceeded) == (0, False)
    assert await quotas.roll_over(tx, now=tomorrow) == 0


async def test_quotas_are_listed_in_id_order_per_tenant(tx: Tx) -> None:
    made = [
        await quotas.create_quota(
            tx, CreateQuota(subject_kind="tenant", metric="pages", period="day", limit=i), tenant
        )
        for i, tenant in enumerate([TENANT, TENANT, uuid.uuid4()])
    ]
    page = await quotas.list_quotas(tx, TENANT, None, 10)
    assert [q.id for q in page] == sorted(q.id for q in made[:2])
    assert len(await quotas.list_quotas(tx, None, None, 10)) == 3
