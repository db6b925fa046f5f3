"""The one membership and sharing computation every reader uses (shared.sharing)."""

from __future__ import annotations

import uuid

from shared.http.auth import Principal
from shared.sharing import (
    TENANT_WIDE,
    Membership,
    SharedWith,
    bypasses_sharing,
    contains,
    effective_groups,
    is_shared_with,
)

USER = uuid.uuid4()


def m(users: tuple[uuid.UUID, ...] = (), groups: tuple[uuid.UUID, ...] = ()) -> Membership:
    return Membership(frozenset(users), frozenset(groups))


def test_membership_is_transitive() -> None:
    a, b, c, unrelated = (uuid.uuid4() for _ in range(4))
    groups = {a: m(groups=(b,)), b: m(groups=(c,)), c: m(users=(USER,)), unrelated: m()}
    assert effective_groups(USER, groups) == {a, b, c}
    assert effective_groups(uuid.uuid4(), groups) == frozenset()


def test_a_cycle_ends_the_walk() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    groups = {a: m(users=(USER,), groups=(b,)), b: m(groups=(a,))}
    assert effective_groups(USER, groups) == {a, b}
    assert contains(a, b, groups) and contains(b, a, groups) and contains(a, a, groups)
    assert not contains(a, uuid.uuid4(), groups)


def test_sharing_by_tenant_user_or_group() -> None:
    g = uuid.uuid4()
    assert is_shared_with(TENANT_WIDE, USER, [])
    assert not is_shared_with(SharedWith(tenant=False), USER, [g])
    assert is_shared_with(SharedWith(tenant=False, user_ids=[USER]), USER, [])
    assert is_shared_with(SharedWith(tenant=False, group_ids=[g]), USER, [g])
    assert not is_shared_with(SharedWith(tenant=False, group_ids=[g]), USER, [uuid.uuid4()])
    assert SharedWith(tenant=True, user_ids=[USER]).normalised() == TENANT_WIDE


def test_administrators_devices_and_services_are_not_limited() -> None:
    tenant = uuid.uuid4()
    assert bypasses_sharing(Principal("a", tenant, frozenset({"admin"})))
    assert bypasses_sharing(Principal("op", None, frozenset({"operator"})))
    assert bypasses_sharing(Principal("d", tenant, device_id=uuid.uuid4()))
    assert not bypasses_sharing(Principal(str(USER), tenant, frozenset({"user"})))
