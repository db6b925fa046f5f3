"""Audit's handlers against an in-memory repository: a change someone made becomes an entry
with the subject's state before and after; what a service did by itself, or a device
reported, keeps the states current without an entry; a replay records nothing twice;
secrets are never kept; readers see their own tenant only, filtered and paged; entries
past the retention period are deleted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from services.audit.domain.commands import AuditFilter, AuditListing
from services.audit.domain.model import next_state
from services.audit.handlers import entries
from shared.errors import Forbidden
from shared.events.contracts.registry import (
    PrinterConnectionChanged,
    PrinterRegistered,
    PrinterUpdated,
)
from shared.events.contracts.users import UserCreated, UserDeleted
from shared.events.envelope import Actor, EventData, new_envelope
from shared.events.registry import DecodedEvent
from shared.http.auth import Principal
from shared.testing.uow import InMemoryTransactions
from tests.support.fakes.audit import FakeAuditRepository

TENANT = uuid.uuid4()
ALICE = Actor(kind="user", id=str(uuid.uuid4()), token_id=uuid.uuid4())
Tx = InMemoryTransactions[FakeAuditRepository]
EVERYTHING = AuditFilter()


@pytest.fixture
def tx() -> Tx:
    return InMemoryTransactions(FakeAuditRepository())


def admin_of(tenant: uuid.UUID = TENANT, roles: frozenset[str] = frozenset({"admin"})) -> Principal:
    return Principal(subject="admin-1", tenant_id=tenant, roles=roles,
                     scopes=frozenset({"users:read"}))  # fmt: skip


async def apply(
    tx: Tx, data: EventData, actor: Actor | None = ALICE, at: datetime | None = None
) -> DecodedEvent[Any]:
    env = new_envelope(data, source="registry", tenant_id=getattr(data, "tenant_id", None),
                       actor=actor, occurred_at=at)  # fmt: skip
    event = DecodedEvent(env, data)
    async with tx() as uow:
        await entries.record(uow, event)
    return event


def printer(printer_id: uuid.UUID, rev: int = 1, tenant: uuid.UUID = TENANT, **kw: Any) -> Any:
    state = {"printer_id": printer_id, "tenant_id": tenant, "revision": rev, "name": "P1",
             "model": "M", "region": "eu-west", "location": None, **kw}  # fmt: skip
    if rev == 1:
        return PrinterRegistered(**state)
    return PrinterUpdated(**{"changed": ["name"], **state})


async def listed(tx: Tx, who: Principal | None = None, **filters: Any) -> list[Any]:
    return await entries.list_entries(tx, who or admin_of(), AuditFilter(**filters), None, 100)


async def test_a_change_someone_made_is_an_entry_with_its_before_and_after(tx: Tx) -> None:
    pid = uuid.uuid4()
    await apply(tx, printer(pid))
    await apply(tx, printer(pid, 2, name="Reception"))
    newest, first = await listed(tx)
    assert first.event_type == "printer.registered" and first.before is None
    assert first.after["name"] == "P1"
    assert newest.event_type == "printer.updated"
    assert newest.actor == ALICE and newest.subject.kind == "printer"
    assert newest.subject.id == str(pid)
    assert newest.before["name"] == "P1" and newest.after["name"] == "Reception"
    assert "changed" not in newest.after


async def test_what_a_service_or_a_device_did_alone_is_no_entry_but_keeps_the_state(
    tx: Tx,
) -> None:
    pid = uuid.uuid4()
    await apply(tx, printer(pid), actor=None)  # registered before actors were recorded
    await apply(tx, printer(pid, 2, name="By a device"), actor=Actor(kind="device", id="d"))
    online = PrinterConnectionChanged(printer_id=pid, tenant_id=TENANT,
                                      connection_state="online", at=datetime.now(UTC))  # fmt: skip
    await apply(tx, online, actor=None)
    await apply(tx, printer(pid, 3, name="Hall"))
    (only,) = await listed(tx)
    assert only.before["name"] == "By a device" and "connection_state" not in only.before
    assert only.after["name"] == "Hall"


async def test_a_deletion_has_no_after_and_a_replay_records_nothing_twice(tx: Tx) -> None:
    uid = uuid.uuid4()
    created = UserCreated(user_id=uid, tenant_id=TENANT, revision=1, kind="person",
                          email="a@example.com", display_name="A", roles=["user"],
                          disabled=False)  # fmt: skip
    await apply(tx, created)
    deleted = await apply(tx, UserDeleted(user_id=uid, tenant_id=TENANT, revision=2))
    async with tx() as uow:
        await entries.record(uow, deleted)  # the same event again
    gone, made = await listed(tx, subject=str(uid))
    assert gone.event_type == "user.deleted" and gone.after is None
    assert gone.before is not None and gone.before["email"] == "a@example.com"
    assert made.after is not None and made.after["roles"] == ["user"]
    assert tx.repo.states == {}


async def test_secrets_are_never_kept(tx: Tx) -> None:
    env = new_envelope(printer(uuid.uuid4()), source="registry", tenant_id=TENANT)
    leaky = env.model_copy(update={"data": {**env.data, "secret": "s3cr3t",
                                            "nested": [{"password": "p", "kept": 1}]}})  # fmt: skip
    state = next_state(None, leaky)
    assert state is not None and "secret" not in state
    assert state["nested"] == [{"kept": 1}]


async def test_readers_see_their_tenant_only_filtered_and_paged(tx: Tx) -> None:
    other = uuid.uuid4()
    bob = Actor(kind="user", id="bob")
    mine = [uuid.uuid4() for _ in range(3)]
    for pid in mine:
        await apply(tx, printer(pid))
    await apply(tx, printer(uuid.uuid4(), tenant=other))
    await apply(tx, printer(mine[0], 2, name="X"), actor=bob)

    assert len(await listed(tx)) == 4
    assert len(await listed(tx, admin_of(other))) == 1
    assert [e.actor.id for e in await listed(tx, actor="bob")] == ["bob"]
    assert len(await listed(tx, type="printer.*")) == 4
    assert len(await listed(tx, type="printer.updated")) == 1
    assert len(await listed(tx, subject=str(mine[0]))) == 2

    page1 = await entries.list_entries(tx, admin_of(), EVERYTHING, None, 3)
    page2 = await entries.list_entries(tx, admin_of(), EVERYTHING, page1[-1].id, 3)
    assert len(page1) == 3 and len(page2) == 1
    assert {e.id for e in page1}.isdisjoint({e.id for e in page2})

    exported = [e async for batch in entries.export_entries(tx, admin_of(), EVERYTHING, 2)
                for e in batch]  # fmt: skip
    assert [e.id for e in exported] == sorted(e.id for e in page1 + page2)

    with pytest.raises(Forbidden):
        await listed(tx, admin_of(roles=frozenset({"user"})))
    with pytest.raises(Forbidden):
        entries.export_entries(tx, admin_of(roles=frozenset({"user"})), EVERYTHING, 2)


async def test_entries_past_the_retention_period_are_deleted(tx: Tx) -> None:
    now = datetime.now(UTC)
    await apply(tx, printer(uuid.uuid4()), at=now - timedelta(days=40))
    await apply(tx, printer(uuid.uuid4()), at=now - timedelta(days=10))
    assert await entries.purge(tx, 30, now=now) == 1
    (kept,) = await listed(tx)
    assert kept.occurred_at == now - timedelta(days=10)
    assert await entries.purge(tx, 30, now=now) == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-01T00:00:00"}, "since"),  # no zone
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"type": "printer updated"}, "type"),
        ({"actor_kind": "device"}, "actor_kind"),
        ({"limit": "0"}, "limit"),
        ({"before": "-3"}, "before"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_filters_name_the_field(query: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AuditListing.model_validate(query)
    assert [e["loc"][0] for e in caught.value.errors()] == [field]
