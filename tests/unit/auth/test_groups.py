"""Groups in auth's handlers, against an in-memory repository: members of the tenant
only, never circular (refused naming the field, nothing announced), full state in every
event, deletions cascading, and the identity provider's claim filling its groups."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.auth.domain.commands import CreateGroup, CreateUser, UpdateGroup
from services.auth.domain.events import GroupCreated, GroupDeleted, GroupUpdated
from services.auth.handlers import groups, users
from shared.errors import DomainError
from shared.http.auth import Principal
from shared.testing.uow import InMemoryTransactions
from tests.support.fakes.auth import FakeAuthRepository

Tx = InMemoryTransactions[FakeAuthRepository]
TENANT, OTHER = uuid.uuid4(), uuid.uuid4()
OPERATOR = Principal("operator", None, frozenset({"operator"}))


def admin(tenant: uuid.UUID = TENANT) -> Principal:
    return Principal(
        "admin", tenant, frozenset({"admin"}), frozenset({"users:read", "users:write"})
    )


@pytest.fixture
def tx() -> Tx:
    return InMemoryTransactions(FakeAuthRepository())


async def person(tx: Tx, email: str, tenant: uuid.UUID = TENANT) -> uuid.UUID:
    cmd = CreateUser(tenant_id=tenant, email=email, display_name="P", roles=["user"])
    return (await users.create_user(tx, cmd, OPERATOR)).id


async def group(tx: Tx, name: str, **members: Any) -> Any:
    return await groups.create_group(tx, CreateGroup(name=name, **members), admin())


def refusal(exc: pytest.ExceptionInfo[DomainError]) -> list[tuple[str, str]]:
    return [(e.field, e.reason) for e in exc.value.errors]


async def test_a_group_is_announced_with_its_full_sorted_state(tx: Tx) -> None:
    ann, bob = await person(tx, "ann@x.org"), await person(tx, "bob@x.org")
    inner = await group(tx, "Inner", member_user_ids=[bob])
    outer = await group(tx, "Outer", member_user_ids=[bob, ann, ann], member_group_ids=[inner.id])
    created = tx.announced(GroupCreated)[-1]
    assert created.group_id == outer.id and created.revision == 1 and created.source == "local"
    assert created.member_user_ids == sorted([ann, bob])
    assert created.member_group_ids == [inner.id]


async def test_unknown_and_foreign_members_are_refused_naming_the_field(tx: Tx) -> None:
    foreigner = await person(tx, "f@x.org", tenant=OTHER)
    before = len(tx.events)
    with pytest.raises(DomainError) as exc:
        await group(tx, "G", member_user_ids=[foreigner], member_group_ids=[uuid.uuid4()])
    assert exc.value.status == 422
    assert [f for f, _ in refusal(exc)] == ["member_user_ids", "member_group_ids"]
    assert len(tx.events) == before


async def test_a_group_can_never_contain_itself(tx: Tx) -> None:
    a = await group(tx, "A")
    b = await group(tx, "B", member_group_ids=[a.id])
    c = await group(tx, "C", member_group_ids=[b.id])
    before = len(tx.events)
    for members in ([a.id], [c.id], [b.id]):
        with pytest.raises(DomainError) as exc:
            await groups.update_group(tx, a.id, UpdateGroup(member_group_ids=members), admin())
        assert exc.value.status == 422
        ((field, reason),) = refusal(exc)
        assert field == "member_group_ids" and "cannot contain itself" in reason
    assert len(tx.events) == before
    assert (await tx.repo.groups.get(a.id)).member_group_ids == ()


async def test_an_update_needs_the_current_revision_when_it_names_one(tx: Tx) -> None:
    ann = await person(tx, "ann@x.org")
    g = await group(tx, "G")
    with pytest.raises(DomainError) as exc:
        await groups.update_group(tx, g.id, UpdateGroup(member_user_ids=[ann], revision=7), admin())
    assert exc.value.code == "stale-group"
    after = await groups.update_group(
        tx, g.id, UpdateGroup(member_user_ids=[ann], revision=1), admin()
    )
    updated = tx.announced(GroupUpdated)[-1]
    assert after.revision == updated.revision == 2 and updated.changed == ["member_user_ids"]


async def test_another_tenants_group_is_not_found(tx: Tx) -> None:
    g = await group(tx, "G")
    with pytest.raises(DomainError) as exc:
        await groups.update_group(tx, g.id, UpdateGroup(name="H"), admin(OTHER))
    assert exc.value.code == "group-not-found" and exc.value.status == 404


async def test_deleting_a_group_removes_it_from_its_holders_first(tx: Tx) -> None:
    inner = await group(tx, "Inner")
    outer = await group(tx, "Outer", member_group_ids=[inner.id])
    await groups.delete_group(tx, inner.id, admin())
    updated, deleted = tx.events[-2].data, tx.events[-1].data
    assert isinstance(updated, GroupUpdated) and updated.group_id == outer.id
    assert updated.member_group_ids == []
    assert isinstance(deleted, GroupDeleted) and deleted.revision == 2


async def test_a_deleted_user_leaves_every_group(tx: Tx) -> None:
    ann = await person(tx, "ann@x.org")
    g = await group(tx, "G", member_user_ids=[ann])
    await users.delete_user(tx, ann, admin())
    (updated,) = tx.announced(GroupUpdated)
    assert updated.group_id == g.id and updated.member_user_ids == []


async def test_the_identity_providers_claim_fills_its_groups(tx: Tx) -> None:
    ann, bob = await person(tx, "ann@x.org"), await person(tx, "bob@x.org")
    local = await group(tx, "Staff", member_user_ids=[bob])
    async with tx() as uow:
        await groups.sync_provider_groups(uow, TENANT, ann, ["finance", "staff", "Print"])
    made = {e.name: e for e in tx.announced(GroupCreated) if e.source == "identity_provider"}
    assert set(made) == {"finance", "Print"}
    assert all(e.member_user_ids == [ann] for e in made.values())
    # A local group of the same name is the administrator's: not joined.
    assert (await tx.repo.groups.get(local.id)).member_user_ids == (bob,)
    async with tx() as uow:
        await groups.sync_provider_groups(uow, TENANT, ann, ["print"])
    (left,) = tx.announced(GroupUpdated)
    assert left.group_id == made["finance"].group_id and left.member_user_ids == []
    with pytest.raises(DomainError) as exc:
        await groups.update_group(
            tx, made["Print"].group_id, UpdateGroup(member_user_ids=[bob]), admin()
        )
    assert refusal(exc)[0][0] == "member_user_ids"
