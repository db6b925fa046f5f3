"""Events auth publishes about users and API tokens: the contract lives in
:mod:`shared.events.contracts.users`, where the services that read them find it."""

from __future__ import annotations

from shared.events.contracts.users import (
    EVENTS,
    ApiTokenCreated,
    ApiTokenRevoked,
    UserCreated,
    UserDeleted,
    UserUpdated,
)

__all__ = [
    "EVENTS",
    "ApiTokenCreated",
    "ApiTokenRevoked",
    "UserCreated",
    "UserDeleted",
    "UserUpdated",
]
