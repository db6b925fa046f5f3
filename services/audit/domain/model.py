"""Audit entries and how an event becomes one: pure values, no I/O.

An event of an administrative topic is about one *subject*: the entity named by the
event type's first word (``printer`` for ``printer.updated``) whose id is the event's
partition key. The service keeps each subject's last known state; an event's
``before`` is that state, its ``after`` the state once the event's data is laid over
it (``None`` when the subject was deleted). Events that describe what a device
reported rather than what someone set (:data:`REPORTED`) change neither.

An event becomes an entry when someone caused it: its envelope names an actor that is
a user, the operator or a service. Events a service emitted by itself (no actor) and
events a device caused keep the subjects' states current but are not entries.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.events.envelope import Actor, Envelope

REPORTED = frozenset({"printer.capabilities_changed", "printer.connection_changed"})
"""Event types that tell what a device reported: not part of a subject's audited state."""

DELETIONS = ("deleted",)
"""The last word of event types that end their subject."""

NOT_STATE = frozenset({"changed"})
"""Data fields that describe the change, not the state (derivable from before/after)."""

SECRET_FIELDS = frozenset(
    {"secret", "password", "token", "private_key", "client_secret", "signing_secret"}
)
"""Field names never stored, at any depth (no contract carries one; this is the guard)."""

ACTING_KINDS = frozenset({"user", "operator", "service"})
"""Actors whose events are administrative changes (not devices)."""


@dataclass(frozen=True)
class Subject:
    """What an event is about: its kind (``printer``, ``user``, ...) and id."""

    kind: str
    id: str

    @classmethod
    def of(cls, envelope: Envelope) -> Subject:
        """The subject of ``envelope``: its type's entity and its partition key."""
        return cls(envelope.type.split(".", 1)[0], envelope.key)


@dataclass(frozen=True)
class Entry:
    """One administrative change: who, when, what, and the subject before and after."""

    event_id: uuid.UUID
    tenant_id: uuid.UUID | None
    occurred_at: datetime
    actor: Actor
    event_type: str
    event_version: int
    subject: Subject
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    source: str
    correlation_id: uuid.UUID
    id: int = 0
    """Assigned when stored: increases with every entry (the listing's cursor)."""


def scrubbed(value: Any) -> Any:
    """``value`` without any field named like a secret, at any depth."""
    if isinstance(value, Mapping):
        return {k: scrubbed(v) for k, v in value.items() if k.lower() not in SECRET_FIELDS}
    if isinstance(value, list):
        return [scrubbed(v) for v in value]
    return value


def tracks_state(envelope: Envelope) -> bool:
    """Whether ``envelope`` changes its subject's audited state."""
    return envelope.type not in REPORTED


def next_state(before: dict[str, Any] | None, envelope: Envelope) -> dict[str, Any] | None:
    """The subject's state after ``envelope``: None when it ended the subject, else the
    event's data (without secrets and change lists) laid over the state before."""
    if envelope.type.rsplit(".", 1)[-1] in DELETIONS:
        return None
    data = {k: v for k, v in scrubbed(envelope.data).items() if k not in NOT_STATE}
    return {**(before or {}), **data}


def is_administrative(envelope: Envelope) -> bool:
    """Whether ``envelope`` is a change someone made (a user, the operator, a service)."""
    return (
        envelope.actor is not None
        and envelope.actor.kind in ACTING_KINDS
        and envelope.type not in REPORTED
    )


def entry_of(
    envelope: Envelope, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> Entry:
    """The entry recording ``envelope`` (an administrative change)."""
    assert envelope.actor is not None
    return Entry(
        event_id=envelope.event_id,
        tenant_id=envelope.tenant_id,
        occurred_at=envelope.occurred_at,
        actor=envelope.actor,
        event_type=envelope.type,
        event_version=envelope.version,
        subject=Subject.of(envelope),
        before=before,
        after=after,
        source=envelope.source,
        correlation_id=envelope.correlation_id,
    )


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Entries that occurred before this are deleted."""
    return now - timedelta(days=retention_days)
