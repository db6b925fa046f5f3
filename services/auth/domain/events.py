"""Events auth publishes. Other services read all of them, so their models live in
:mod:`shared.events.contracts` (users, auth, sessions) and are re-exported here."""

from __future__ import annotations

from shared.events.contracts.auth import DeviceCredentialIssued, DeviceCredentialRevoked
from shared.events.contracts.groups import GroupCreated, GroupDeleted, GroupUpdated
from shared.events.contracts.sessions import DeviceLoginApproved
from shared.events.contracts.users import (
    ApiTokenCreated,
    ApiTokenRevoked,
    UserCreated,
    UserDeleted,
    UserUpdated,
)

EVENTS = (
    UserCreated,
    UserUpdated,
    UserDeleted,
    ApiTokenCreated,
    ApiTokenRevoked,
    DeviceCredentialIssued,
    DeviceCredentialRevoked,
    DeviceLoginApproved,
    GroupCreated,
    GroupUpdated,
    GroupDeleted,
)

__all__ = [
    "EVENTS",
    "ApiTokenCreated",
    "ApiTokenRevoked",
    "DeviceCredentialIssued",
    "DeviceCredentialRevoked",
    "DeviceLoginApproved",
    "GroupCreated",
    "GroupDeleted",
    "GroupUpdated",
    "UserCreated",
    "UserDeleted",
    "UserUpdated",
]
