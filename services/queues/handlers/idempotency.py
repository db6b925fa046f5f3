"""Idempotent submission: a request retried with the same Idempotency-Key answers what
the first one created (and creates nothing); the key is recorded in the transaction
that creates the job or document, so a lost answer never means a second job."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from services.queues.domain.errors import IdempotencyKeyReused
from services.queues.handlers.common import Work
from shared.errors import DomainError, FieldError
from shared.http.auth import Principal

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class IdempotencyKey:
    """The caller's key and what identifies its request (completed by the handler with
    what is only known once the body is read, such as the document's sha256)."""

    key: str
    ttl_s: int
    request: dict[str, Any] = field(default_factory=dict)

    def adding(self, **more: Any) -> IdempotencyKey:
        """The same key with more of the request known."""
        return replace(self, request={**self.request, **more})

    def fingerprint(self, **more: Any) -> str:
        """SHA-256 of the request's canonical JSON form."""
        canonical = json.dumps(
            {**self.request, **more}, sort_keys=True, separators=(",", ":"), default=str
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def parse_key(value: str | None) -> str | None:
    """The header's key: 1-255 visible ASCII characters (a quoted string is unquoted);
    None when absent; a 400 problem naming the header otherwise."""
    if value is None:
        return None
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not 1 <= len(key) <= 255 or not all("!" <= c <= "~" for c in key):
        raise DomainError(
            f"{HEADER} must be 1 to 255 visible ASCII characters",
            [FieldError(HEADER, "1 to 255 visible ASCII characters (no spaces)")],
            code="invalid-idempotency-key",
        )
    return key


async def claim(
    uow: Work,
    key: IdempotencyKey | None,
    who: Principal,
    resource: Literal["job", "document"],
    resource_id: uuid.UUID,
    **more: Any,
) -> uuid.UUID | None:
    """In the creating transaction, before anything is created: None when this request
    goes on and creates ``resource_id`` (no key, or the key is now ours); otherwise the
    id the key's first request created, to answer again (IdempotencyKeyReused when that
    request differs). A concurrent request with the key is waited for."""
    if key is None:
        return None
    assert who.tenant_id is not None
    fingerprint = key.fingerprint(**more)
    held = await uow.repo.claim_idempotency_key(
        tenant_id=who.tenant_id,
        owner_id=uuid.UUID(who.subject),
        key=key.key,
        fingerprint=fingerprint,
        resource=resource,
        resource_id=resource_id,
        ttl_s=key.ttl_s,
    )
    if held.resource_id == resource_id:
        return None
    if held.fingerprint != fingerprint or held.resource != resource:
        raise IdempotencyKeyReused(
            f"this {HEADER} was used for a different request; use a new key",
            [FieldError(HEADER, "already used for a different request")],
        )
    return held.resource_id
