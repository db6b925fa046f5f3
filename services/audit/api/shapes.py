"""How audit entries look on the wire (the models also feed the OpenAPI document)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.audit.domain.model import Entry


def entry_json(entry: Entry) -> dict[str, Any]:
    """One entry (EntryOut)."""
    return {
        "id": entry.id,
        "event_id": str(entry.event_id),
        "tenant_id": str(entry.tenant_id) if entry.tenant_id else None,
        "occurred_at": entry.occurred_at.isoformat(),
        "actor": entry.actor.model_dump(mode="json"),
        "type": entry.event_type,
        "version": entry.event_version,
        "subject": {"kind": entry.subject.kind, "id": entry.subject.id},
        "before": entry.before,
        "after": entry.after,
        "source": entry.source,
        "correlation_id": str(entry.correlation_id),
    }


def page(entries: list[Entry], limit: int) -> dict[str, Any]:
    """A page of entries and the cursor of the next (older) one."""
    items = [entry_json(e) for e in entries]
    return {"items": items, "next_before": entries[-1].id if len(entries) == limit else None}


def json_lines(entries: list[Entry]) -> bytes:
    """Entries as JSON lines (one object and a newline each)."""
    return b"".join(json.dumps(entry_json(e)).encode() + b"\n" for e in entries)


class ActorOut(BaseModel):
    """Who made the change."""

    kind: Literal["user", "operator", "service"] = Field(
        description="A person or service account of the tenant, the platform operator, or "
        "a service of the platform acting as itself."
    )
    id: str = Field(description="The user id, `operator`, or the service's name.")
    token_id: uuid.UUID | None = Field(description="The API token a user acted through.")


class SubjectOut(BaseModel):
    """What was changed."""

    kind: str = Field(
        description="The kind of thing: `printer`, `virtual_printer`, `tenant`, `user`, "
        "`api_token`, `device`, `device_credential`, `connector`, `quota`, `supply_order`, ..."
    )
    id: str = Field(description="Its id.")


class EntryOut(BaseModel):
    """One administrative change."""

    id: int = Field(description="Increases with every entry recorded.")
    event_id: uuid.UUID = Field(description="The event that announced the change.")
    tenant_id: uuid.UUID | None
    occurred_at: datetime = Field(description="When the change was made (UTC).")
    actor: ActorOut
    type: str = Field(description="The event type, e.g. `printer.updated` (docs/events.md).")
    version: int = Field(description="The event type's schema version.")
    subject: SubjectOut
    before: dict[str, Any] | None = Field(
        description="The subject's state before the change, as the events told it (null: "
        "it did not exist, or it was not known then)."
    )
    after: dict[str, Any] | None = Field(
        description="The subject's state after the change (null: it was deleted)."
    )
    source: str = Field(description="The service that made the change.")
    correlation_id: uuid.UUID = Field(description="The request that made the change.")


class EntryPage(BaseModel):
    """A page of entries, newest first."""

    items: list[EntryOut]
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )
