"""The counters service on real Kafka and Postgres: device readings (inconsistent ones
refused and parked, repeats dropped, resets recorded), usage per completed job,
quotas publishing their state, and usage windows readable per tenant only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.counters.domain.events import UsageRolledUp, UsageRolledUpV1
from shared.events.contracts.gateway import CounterValue, DeviceCountersReported
from shared.events.contracts.jobs import JobCompleted
from shared.testing.fixtures import ServiceDbFactory
from tests.support.counters import (
    OPERATOR_TOKEN,
    Counters,
    counters_app,
    parked_by_key,
)
from tests.support.kafka import envelope, envelopes, publish
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def counters(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[Counters]:
    async with counters_app(service_db, bootstrap, quota_rollover_s=0.5) as c:
        yield c


def reading(printer: uuid.UUID, tenant: uuid.UUID, values: dict[str, int], *,
            before: int = 7, after: int = 7, at: datetime | None = None,
            reading_id: uuid.UUID | None = None) -> DeviceCountersReported:  # fmt: skip
    return DeviceCountersReported(
        device_id=printer, tenant_id=tenant, reading_id=reading_id or uuid.uuid4(),
        counters=[CounterValue(name=k, value=v) for k, v in values.items()],  # type: ignore[arg-type]
        activity_before=before, activity_after=after, attempts=1,
        reported_at=at or datetime.now(UTC),
    )  # fmt: skip


def refused_count() -> float:
    return REGISTRY.get_sample_value("printcloud_counter_readings_refused_total") or 0.0


async def test_readings_are_consistent_monotonic_and_deduplicated(counters: Counters) -> None:
    printer, tenant = uuid.uuid4(), uuid.uuid4()
    t0 = datetime.now(UTC) - timedelta(minutes=10)
    before_refusals = refused_count()

    first = reading(printer, tenant, {"total": 100, "colour": 40}, at=t0)
    # A job ran while it was read: refused, parked, counted and recorded.
    torn = reading(printer, tenant, {"total": 999, "colour": 999}, before=7, after=8,
                   at=t0 + timedelta(minutes=1))  # fmt: skip
    second = reading(printer, tenant, {"total": 130, "colour": 45}, at=t0 + timedelta(minutes=2))
    same_values = reading(printer, tenant, {"total": 130, "colour": 45},
                          at=t0 + timedelta(minutes=3))  # fmt: skip
    repeat = envelope(second)  # same reading id, new event id
    reset = reading(printer, tenant, {"total": 5, "colour": 45}, at=t0 + timedelta(minutes=4))
    after_reset = reading(printer, tenant, {"total": 12, "colour": 50},
                          at=t0 + timedelta(minutes=5))  # fmt: skip
    stale = reading(printer, tenant, {"total": 1, "colour": 1}, at=t0 + timedelta(minutes=1))
    sent = await publish(counters.bootstrap, first, torn, second, same_values)
    await publish(counters.bootstrap, repeat, reset, after_reset, stale)
    torn_env = sent[1].envelope

    await counters.until(
        "SELECT 1 FROM counter_readings WHERE reading_id = $1", stale.reading_id, timeout=60
    )
    async with counters.db() as conn:
        kept = {r["counter"]: (r["value"], r["usage"]) for r in await conn.fetch(
            "SELECT counter, value, usage FROM printer_counters WHERE printer_id = $1", printer
        )}  # fmt: skip
        outcomes = {r["reading_id"]: r["outcome"] for r in await conn.fetch(
            "SELECT reading_id, outcome FROM counter_readings WHERE printer_id = $1", printer
        )}  # fmt: skip
        increments = await conn.fetch(
            "SELECT counter, increment FROM counter_increments WHERE printer_id = $1 ORDER BY id",
            printer,
        )
        resets = await conn.fetch(
            "SELECT counter, previous_value, new_value FROM counter_resets WHERE printer_id = $1",
            printer,
        )
        refusals = await conn.fetch(
            "SELECT reading_id, reason FROM refused_readings WHERE printer_id = $1", printer
        )
    # total: 100 -> 130 (+30), reset to 5 (+0), 12 (+7); colour: 40 -> 45 (+5) -> 50 (+5)
    assert kept == {"total": (12, 37), "colour": (50, 10)}
    assert [(r["counter"], r["increment"]) for r in increments] == [
        ("total", 30), ("colour", 5), ("total", 7), ("colour", 5),
    ]  # fmt: skip
    assert [tuple(r) for r in resets] == [("total", 130, 5)]
    assert outcomes == {
        first.reading_id: "applied", second.reading_id: "applied",
        same_values.reading_id: "unchanged", reset.reading_id: "applied",
        after_reset.reading_id: "applied", stale.reading_id: "out_of_order",
    }  # fmt: skip
    assert [r["reading_id"] for r in refusals] == [torn.reading_id]
    assert "7 before the read, 8 after" in refusals[0]["reason"]

    # The metric counts each refusal once (the topic may hold older runs' refusals too).
    async def counted_once() -> bool:
        async with counters.db() as conn:
            rows = await conn.fetchval("SELECT count(*) FROM refused_readings")
        return rows >= 1 and refused_count() - before_refusals == rows

    await eventually(counted_once, 30)

    dead = await parked_by_key(
        counters.bootstrap, f"{counters.schema}-device-counters", [str(printer).encode()], 1
    )
    headers = dead[str(printer).encode()]
    assert headers["event_id"] == str(torn_env.event_id).encode()
    assert headers["dlq.reason"].startswith(b"inconsistent reading")
    assert headers["dlq.topic"] == b"devices.telemetry"
    assert int(headers["dlq.offset"]) >= 0

    found = await envelopes(
        counters.bootstrap, "counters.devices",
        match=lambda e: e["data"].get("printer_id") == str(printer), done=lambda f: len(f) >= 1,
        timeout=120,
    )  # fmt: skip
    assert found[0]["type"] == "counter.reset_detected"
    assert (found[0]["data"]["previous_value"], found[0]["data"]["new_value"]) == (130, 5)

    r = await counters.client.get(f"/v1/counters/{printer}", headers=counters.admin(tenant))
    assert r.status == 200
    assert {c["counter"]: c["usage"] for c in (await r.json())["counters"]} == {
        "total": 37, "colour": 10,
    }  # fmt: skip
    r = await counters.client.get(f"/v1/counters/{printer}", headers=counters.admin(uuid.uuid4()))
    assert r.status == 404


def job_completed(tenant: uuid.UUID, user: uuid.UUID, pages: int, colour: int,
                  at: datetime | None = None) -> JobCompleted:  # fmt: skip
    return JobCompleted(
        job_id=uuid.uuid4(), tenant_id=tenant, owner_id=user, at=at or datetime.now(UTC),
        printer_id=uuid.uuid4(), pages=pages, printed_pages=pages, colour_pages=colour,
        sheets=pages, copies=1, sides="one-sided", media=None,
    )  # fmt: skip


async def quota_states(counters: Counters, quota_id: str, count: int) -> list[dict[str, Any]]:
    return await envelopes(
        counters.bootstrap, "counters.quotas",
        match=lambda e: e["data"].get("quota_id") == quota_id, done=lambda f: len(f) >= count,
        timeout=120,
    )  # fmt: skip


async def test_quotas_follow_usage_and_publish_their_state(counters: Counters) -> None:
    tenant, user, colleague = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    admin = counters.admin(tenant)
    c = counters.client

    no_subject = {"subject_kind": "user", "metric": "pages", "period": "month", "limit": 10}
    r = await c.post("/v1/quotas", json=no_subject, headers=admin)
    assert r.status == 422
    assert any(e["field"] == "(body)" or "subject_id" in e["reason"]
               for e in (await r.json())["errors"])  # fmt: skip
    r = await c.post("/v1/quotas", json={"subject_kind": "user", "subject_id": str(user),
                                         "metric": "pages", "period": "month", "limit": 10,
                                         "colour": True}, headers=admin)  # fmt: skip
    assert r.status == 422
    r = await c.post("/v1/quotas", json={"subject_kind": "user", "subject_id": str(user),
                                         "metric": "pages", "period": "month", "limit": 10},
                     headers=counters.user(tenant, user))  # fmt: skip
    assert r.status == 403

    r = await c.post("/v1/quotas", json={"subject_kind": "user", "subject_id": str(user),
                                         "metric": "pages", "period": "month", "limit": 10},
                     headers=admin)  # fmt: skip
    assert r.status == 201, await r.text()
    quota = await r.json()
    r = await c.post("/v1/quotas", json={"subject_kind": "group", "subject_id": str(uuid.uuid4()),
                                         "members": [str(user), str(colleague)],
                                         "metric": "colour_pages", "period": "day", "limit": 100,
                                         "policy": "warn"}, headers=admin)  # fmt: skip
    assert r.status == 201
    group = await r.json()

    job = job_completed(tenant, user, 8, 3)
    await publish(
        counters.bootstrap,
        job,
        job_completed(tenant, colleague, 5, 5),
        job_completed(uuid.uuid4(), user, 50, 50),
    )  # another tenant's same user id
    await publish(counters.bootstrap, envelope(job))  # the same job again: counted once

    async def used(quota_id: str, value: int) -> bool:
        r = await c.get(f"/v1/quotas/{quota_id}", headers=admin)
        return (await r.json())["used"] == value

    await eventually(lambda: used(quota["id"], 8), 60)
    await eventually(lambda: used(group["id"], 8), 60)
    async with counters.db() as conn:
        recorded = await conn.fetchval("SELECT count(*) FROM job_usage WHERE tenant_id=$1", tenant)
    assert recorded == 2

    await publish(counters.bootstrap, job_completed(tenant, user, 4, 0))
    await eventually(lambda: used(quota["id"], 12), 60)
    r = await c.get(f"/v1/quotas/{quota['id']}", headers=admin)
    assert (await r.json())["exceeded"] is True

    until = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    overrides = f"/v1/quotas/{quota['id']}/overrides"
    r = await c.post(overrides, json={"until": until.isoformat(), "reason": "exam"}, headers=admin)
    assert r.status == 201
    r = await c.post(overrides, json={"until": "2001-01-01T00:00:00Z", "reason": "x"},
                     headers=admin)  # fmt: skip
    assert r.status == 422 and (await r.json())["errors"][0]["field"] == "until"
    r = await c.patch(f"/v1/quotas/{quota['id']}", json={"limit": 20}, headers=admin)
    assert r.status == 200 and (await r.json())["exceeded"] is False

    states = await quota_states(counters, quota["id"], 5)
    data = [s["data"] for s in states]
    assert [d["used"] for d in data] == [0, 8, 12, 12, 12]
    assert [d["exceeded"] for d in data] == [False, False, True, True, False]
    assert datetime.fromisoformat(data[3]["override_until"]) == until
    assert all(s["key"] == quota["id"] for s in states)

    # Another tenant's admin sees none of it.
    stranger = counters.admin(uuid.uuid4())
    assert (await c.get(f"/v1/quotas/{quota['id']}", headers=stranger)).status == 404
    assert (await c.patch(f"/v1/quotas/{quota['id']}", json={"limit": 1},
                          headers=stranger)).status == 404  # fmt: skip
    assert (await (await c.get("/v1/quotas", headers=stranger)).json())["items"] == []
    listed = (await (await c.get("/v1/quotas", headers=admin)).json())["items"]
    assert {q["id"] for q in listed} == {quota["id"], group["id"]}

    r = await c.delete(f"/v1/quotas/{quota['id']}", headers=admin)
    assert r.status == 204
    states = await quota_states(counters, quota["id"], 6)
    assert states[-1]["data"]["deleted"] is True


async def test_a_new_period_starts_with_zero_usage(counters: Counters) -> None:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    admin = counters.admin(tenant)
    r = await counters.client.post("/v1/quotas", json={
        "subject_kind": "tenant", "metric": "pages", "period": "day", "limit": 5,
    }, headers=admin)  # fmt: skip
    quota = await r.json()
    await publish(counters.bootstrap, job_completed(tenant, user, 7, 0))
    states = await quota_states(counters, quota["id"], 2)
    assert states[-1]["data"]["used"] == 7
    # The period ended (as if a day went by): the periodic task starts the next one.
    async with counters.db() as conn:
        await conn.execute(
            "UPDATE quotas SET period_start = period_start - interval '1 day' WHERE id = $1",
            uuid.UUID(quota["id"]),
        )
    states = await quota_states(counters, quota["id"], 3)
    assert states[-1]["data"]["used"] == 0 and states[-1]["data"]["exceeded"] is False
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert datetime.fromisoformat(states[-1]["data"]["period_start"]) == today


async def test_usage_is_read_per_tenant_and_users_see_their_own(counters: Counters) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    me, colleague, printer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

    def window(t: uuid.UUID, dim: str, subject: uuid.UUID, pages: int, jobs: int,
               start: datetime = day) -> UsageRolledUp:  # fmt: skip
        return UsageRolledUp(
            tenant_id=t, granularity="day", window_start=start,
            window_end=start + timedelta(days=1), dimension=dim,  # type: ignore[arg-type]
            subject_id=subject, pages=pages, colour_pages=0, jobs=jobs, sheets=pages,
            duplex_sheets=pages // 2,
        )  # fmt: skip

    # A window rolled up before sheets were counted (version 1, in the topic's history).
    before_sheets = UsageRolledUpV1(
        tenant_id=tenant, granularity="day", window_start=day - timedelta(days=3),
        window_end=day - timedelta(days=2), dimension="tenant", subject_id=tenant, pages=7,
        colour_pages=0, jobs=1,
    )  # fmt: skip

    await publish(
        counters.bootstrap,
        window(tenant, "tenant", tenant, 30, 3),
        window(tenant, "tenant", tenant, 20, 2),  # older
        window(tenant, "user", me, 12, 2),
        window(tenant, "user", colleague, 18, 1),
        window(tenant, "printer", printer, 30, 3),
        before_sheets,
        window(other, "tenant", other, 999, 9),
    )
    admin, mine = counters.admin(tenant), counters.user(tenant, me)
    c = counters.client

    async def tenant_total() -> bool:
        r = await c.get("/v1/usage", params={"granularity": "day"}, headers=admin)
        return [i["pages"] for i in (await r.json())["items"]] == [7, 30]

    await eventually(tenant_total, 60)
    r = await c.get("/v1/usage", params={"granularity": "day", "from": day.isoformat()},
                    headers=admin)  # fmt: skip
    assert [(i["pages"], i["jobs"]) for i in (await r.json())["items"]] == [(30, 3)]
    r = await c.get("/v1/usage", params={"granularity": "day"}, headers=admin)
    assert [(i["sheets"], i["duplex_sheets"]) for i in (await r.json())["items"]] == [
        (0, 0), (30, 15)
    ]  # fmt: skip
    r = await c.get("/v1/usage", params={"granularity": "day", "printer_id": str(printer)},
                    headers=admin)  # fmt: skip
    assert (await r.json())["dimension"] == "printer"
    r = await c.get("/v1/usage", params={"granularity": "day", "user_id": str(colleague)},
                    headers=admin)  # fmt: skip
    assert [i["pages"] for i in (await r.json())["items"]] == [18]

    # A user: their own usage only.
    r = await c.get("/v1/usage", params={"granularity": "day"}, headers=mine)
    body = await r.json()
    assert (body["dimension"], body["subject_id"]) == ("user", str(me))
    assert [i["pages"] for i in body["items"]] == [12]
    for params in ({"user_id": str(colleague)}, {"printer_id": str(printer)}):
        r = await c.get("/v1/usage", params={"granularity": "day", **params}, headers=mine)
        assert r.status == 403

    # Another tenant: its own numbers, never these; naming this tenant is unknown to it.
    stranger = counters.admin(other)
    r = await c.get("/v1/usage", params={"granularity": "day", "tenant": str(tenant)},
                    headers=stranger)  # fmt: skip
    assert r.status == 404
    r = await c.get("/v1/usage", params={"granularity": "day", "user_id": str(me)},
                    headers=stranger)  # fmt: skip
    assert (await r.json())["items"] == []

    r = await c.get("/v1/usage", params={"granularity": "week"}, headers=admin)
    assert r.status == 422 and (await r.json())["errors"][0]["field"] == "granularity"
    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    r = await c.get("/v1/usage", params={"granularity": "day"}, headers=operator)
    assert r.status == 422
    r = await c.get("/v1/usage", params={"granularity": "day", "tenant": str(other)},
                    headers=operator)  # fmt: skip
    assert [i["pages"] for i in (await r.json())["items"]] == [999]
