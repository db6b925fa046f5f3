"""A registration: a device asking to join, until an administrator claims it.

The onboarding protocol itself (claim codes, device keys, the registration sheet,
the signed poll) is shared with the agent: :mod:`shared.protocols.onboarding`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from shared.protocols.onboarding import (
    CLAIM_ALPHABET,
    CLAIM_LENGTH,
    POLL_CONTEXT,
    SHEET_SCHEME,
    DeviceKey,
    Kind,
    Sheet,
    Status,
    display_claim_code,
    new_claim_code,
    normalize_claim_code,
    poll_message,
    redeem_message,
    register_message,
)

__all__ = [
    "CLAIM_ALPHABET",
    "CLAIM_LENGTH",
    "POLL_CONTEXT",
    "SHEET_SCHEME",
    "DeviceKey",
    "Kind",
    "Registration",
    "Sheet",
    "Status",
    "display_claim_code",
    "new_claim_code",
    "normalize_claim_code",
    "poll_message",
    "redeem_message",
    "register_message",
]


@dataclass(frozen=True)
class Registration:
    """A device asking to join, until an administrator claims it for a tenant."""

    id: uuid.UUID
    kind: Kind
    model: str
    key: DeviceKey
    claim_code: str
    source: Literal["online", "relay"]
    status: Status
    created_at: datetime
    expires_at: datetime
    tenant_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    claimed_at: datetime | None = None
    last_poll: int = 0

    @classmethod
    def new(
        cls, kind: Kind, model: str, key: DeviceKey, now: datetime, ttl: timedelta
    ) -> Registration:
        """A pending online registration with a fresh claim code."""
        return cls(
            id=uuid.uuid4(), kind=kind, model=model, key=key, claim_code=new_claim_code(),
            source="online", status="pending", created_at=now, expires_at=now + ttl,
        )  # fmt: skip

    def expired(self, now: datetime) -> bool:
        """A pending registration past its expiry can no longer be claimed."""
        return self.status == "pending" and now >= self.expires_at

    def claimed(self, tenant_id: uuid.UUID, device_id: uuid.UUID, now: datetime) -> Registration:
        """The registration after a successful claim."""
        return replace(
            self, status="claimed", tenant_id=tenant_id, device_id=device_id, claimed_at=now
        )
