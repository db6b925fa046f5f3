"""The one envelope every Printcloud event travels in.

On the wire an event is a JSON object with the envelope fields and the payload
under ``data``. The payload is a pydantic model (a subclass of :class:`EventData`)
that declares its own ``type``, ``version`` and topic; the envelope itself does not
know the payload types, the :class:`~shared.events.registry.EventRegistry` does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class EventData(BaseModel):
    """Base class of every event payload.

    Subclasses set ``event_type`` (past tense, ``<entity>.<what happened>``),
    ``event_version`` and ``topic`` and implement :meth:`partition_key`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    event_version: ClassVar[int]
    topic: ClassVar[str]

    def partition_key(self) -> str:
        """The aggregate id that orders this event (printer_id, job_id, ...)."""
        raise NotImplementedError


ActorKind = Literal["user", "operator", "service", "device"]


class Actor(BaseModel):
    """Who caused a change: the authenticated caller of the request that emitted the event.

    ``user``: a person or service account of a tenant (``id`` is the user id);
    ``operator``: the platform operator; ``service``: another service acting as itself
    (``id`` is the service's name); ``device``: a printer or connector (``id`` is the
    device id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ActorKind
    id: str = Field(min_length=1, max_length=200)
    token_id: uuid.UUID | None = Field(
        default=None, description="The API token a user acted through, when known."
    )


class Envelope(BaseModel):
    """Metadata common to all events, plus the raw payload under ``data``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    type: str = Field(min_length=1, max_length=200)
    version: int = Field(ge=1)
    occurred_at: AwareDatetime
    tenant_id: uuid.UUID | None
    source: str = Field(min_length=1, max_length=100)
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    actor: Actor | None = Field(
        default=None,
        description="Who caused the change: set on events emitted while serving an "
        "authenticated request; absent on events a service emits by itself (and on events "
        "written before it existed).",
    )
    key: str = Field(min_length=1, max_length=500)
    data: dict[str, Any]

    def to_json(self) -> str:
        """The envelope as JSON text. ``actor`` is left out when there is none: consumers
        of releases that do not know the field then still read the event."""
        return self.model_dump_json(exclude={"actor"} if self.actor is None else None)

    def to_bytes(self) -> bytes:
        """Serialise for Kafka (UTF-8 JSON)."""
        return self.to_json().encode()

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """Headers that let routers and analytics filter without parsing the body."""
        return [
            ("event_id", str(self.event_id).encode()),
            ("type", self.type.encode()),
            ("version", str(self.version).encode()),
            ("correlation_id", str(self.correlation_id).encode()),
        ]


def new_envelope(
    data: EventData,
    *,
    source: str,
    tenant_id: uuid.UUID | None,
    correlation_id: uuid.UUID | None = None,
    causation_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
    actor: Actor | None = None,
) -> Envelope:
    """Wrap a payload in a fresh envelope (new event_id, now, key from the payload)."""
    event_id = uuid.uuid4()
    return Envelope(
        event_id=event_id,
        type=data.event_type,
        version=data.event_version,
        occurred_at=occurred_at or datetime.now(UTC),
        tenant_id=tenant_id,
        source=source,
        correlation_id=correlation_id or event_id,
        causation_id=causation_id,
        actor=actor,
        key=data.partition_key(),
        data=data.model_dump(mode="json"),
    )
