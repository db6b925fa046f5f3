"""The audit trail on real Kafka and Postgres: an administrator changing a printer through
the registry's API is recorded with that administrator as the actor and the printer
before and after; another tenant's administrator sees none of it; bad filters are
answered 422 naming the field; entries past the configured retention are deleted."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.events.contracts.registry import PrinterUpdated
from shared.events.envelope import Actor
from shared.testing.fixtures import ServiceDbFactory
from tests.support.audit import OPERATOR, Admin, AuditRig, audit_rig
from tests.support.kafka import envelope, publish
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def rig(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[AuditRig]:
    async with audit_rig(service_db, bootstrap) as r:
        yield r


async def listed(rig: AuditRig, who: Admin, count: int, **query: str) -> list[dict[str, Any]]:
    """The entries ``who`` sees, once there are ``count`` of them."""
    found: list[dict[str, Any]] = []

    async def enough() -> bool:
        status, page = await rig.entries(who, **query)
        assert status == 200, page
        found[:] = page["items"]
        return len(found) >= count

    await eventually(enough, 60, f"{count} audit entries for {query}")
    return found


async def a_changed_printer(rig: AuditRig, admin: Admin) -> str:
    body = {"tenant_id": admin.tenant_id, "name": "Lobby", "model": "M", "region": "eu-west"}
    r = await rig.registry.post("/v1/printers", json=body, headers=admin.headers)
    assert r.status == 201, await r.text()
    printer_id = str((await r.json())["id"])
    r = await rig.registry.patch(f"/v1/printers/{printer_id}", json={"name": "Hall"},
                                 headers=admin.headers)  # fmt: skip
    assert r.status == 200, await r.text()
    return printer_id


async def test_an_admin_changing_a_printer_is_recorded_with_the_actor_and_before_after(
    rig: AuditRig,
) -> None:
    admin = rig.admin(await rig.tenant())
    printer_id = await a_changed_printer(rig, admin)

    updated, registered = await listed(rig, admin, 2, subject=printer_id)
    assert updated["type"] == "printer.updated" and registered["type"] == "printer.registered"
    assert updated["actor"] == {"kind": "user", "id": admin.user_id, "token_id": admin.token_id}
    assert updated["subject"] == {"kind": "printer", "id": printer_id}
    assert updated["tenant_id"] == admin.tenant_id and updated["source"] == "registry"
    assert updated["before"]["name"] == "Lobby" and updated["after"]["name"] == "Hall"
    assert updated["before"]["revision"] == 1 and updated["after"]["revision"] == 2
    assert registered["before"] is None and registered["after"]["name"] == "Lobby"
    assert updated["id"] > registered["id"]

    (made,) = await listed(rig, admin, 1, type="tenant.created")
    assert made["actor"] == {"kind": "operator", "id": "operator", "token_id": None}

    content_type, lines = await rig.export(admin, subject=printer_id)
    assert content_type == "application/x-ndjson"
    assert [e["id"] for e in lines] == [registered["id"], updated["id"]]
    assert lines[1] == updated

    first = await listed(rig, admin, 1, limit="1", subject=printer_id)
    status, older = await rig.entries(admin, subject=printer_id, before=str(first[0]["id"]))
    assert status == 200 and [e["id"] for e in older["items"]] == [registered["id"]]


async def test_another_tenants_admin_sees_nothing(rig: AuditRig) -> None:
    admin = rig.admin(await rig.tenant())
    printer_id = await a_changed_printer(rig, admin)
    await listed(rig, admin, 2, subject=printer_id)

    stranger = rig.admin(await rig.tenant())
    await listed(rig, stranger, 1)  # its own tenant.created: the trail is running for it
    status, page = await rig.entries(stranger, subject=printer_id)
    assert status == 200 and page["items"] == []
    _, everything = await rig.entries(stranger, limit="500")
    assert {e["tenant_id"] for e in everything["items"]} == {stranger.tenant_id}
    _, exported = await rig.export(stranger)
    assert {e["tenant_id"] for e in exported} == {stranger.tenant_id}

    r = await rig.audit.get("/v1/audit", params={"subject": printer_id}, headers=OPERATOR)
    assert r.status == 200 and len((await r.json())["items"]) == 2


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "last tuesday"}, "since"),
        ({"until": "2026-01-01T00:00:00"}, "until"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"type": "printer;drop"}, "type"),
        ({"actor_kind": "robot"}, "actor_kind"),
        ({"limit": "100000"}, "limit"),
        ({"before": "abc"}, "before"),
        ({"tenant": "x"}, "tenant"),
    ],
)
async def test_bad_filters_are_422_naming_the_field(
    rig: AuditRig, query: dict[str, str], field: str
) -> None:
    admin = rig.admin(str(uuid.uuid4()))
    for path in ("/v1/audit", "/v1/audit/export"):
        if path.endswith("export") and field in {"limit", "before"}:
            continue  # an export has no pages
        r = await rig.audit.get(path, params=query, headers=admin.headers)
        problem = await r.json()
        assert r.status == 422, problem
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert [e["field"] for e in problem["errors"]] == [field], problem


async def test_only_administrators_read_the_trail(rig: AuditRig) -> None:
    tenant = str(uuid.uuid4())
    user = rig.admin(tenant, roles=("user",))
    for path in ("/v1/audit", "/v1/audit/export"):
        r = await rig.audit.get(path, headers=user.headers)
        assert r.status == 403, await r.text()
        r = await rig.audit.get(path)
        assert r.status == 401, await r.text()


async def test_entries_past_the_retention_are_deleted_by_the_periodic_task(rig: AuditRig) -> None:
    tenant = uuid.uuid4()
    admin = rig.admin(str(tenant))
    who = Actor(kind="user", id=admin.user_id)
    now = datetime.now(UTC)

    def change(days_ago: int) -> Any:
        data = PrinterUpdated(printer_id=uuid.uuid4(), tenant_id=tenant, revision=2,
                              name="P", model="M", region="eu-west", location=None,
                              changed=["name"])  # fmt: skip
        return envelope(data, source="registry", actor=who,
                        occurred_at=now - timedelta(days=days_ago))  # fmt: skip

    await publish(rig.bootstrap, change(40), change(10))
    recorded = await listed(rig, admin, 2)  # the default retention (400 days) keeps both
    assert len(recorded) == 2

    async with rig.replica(retention_days=30, purge_interval_s=0.2):

        async def purged() -> bool:
            _, page = await rig.entries(admin)
            return len(page["items"]) == 1

        await eventually(purged, 60, "the 40-day-old entry deleted")
    _, page = await rig.entries(admin)
    (kept,) = page["items"]
    assert datetime.fromisoformat(kept["occurred_at"]) > now - timedelta(days=11)
