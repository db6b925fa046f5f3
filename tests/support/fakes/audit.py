"""Audit's repository in memory: the same methods as
:class:`services.audit.repository.AuditRepository`, state in dicts."""

from __future__ import annotations

import dataclasses
import fnmatch
import uuid
from datetime import datetime
from typing import Any

from services.audit.domain.commands import AuditFilter
from services.audit.domain.model import Entry, Subject


def _matches(e: Entry, tenant_id: uuid.UUID | None, f: AuditFilter) -> bool:
    return (
        (tenant_id is None or e.tenant_id == tenant_id)
        and (f.since is None or e.occurred_at >= f.since)
        and (f.until is None or e.occurred_at < f.until)
        and (f.subject is None or e.subject.id == f.subject)
        and (f.actor is None or e.actor.id == f.actor)
        and (f.actor_kind is None or e.actor.kind == f.actor_kind)
        and (f.type is None or fnmatch.fnmatchcase(e.event_type, f.type))
    )


class FakeAuditRepository:
    """Entries by id and subjects' states by (kind, id)."""

    def __init__(self) -> None:
        self.entries: dict[int, Entry] = {}
        self.states: dict[Subject, dict[str, Any]] = {}

    async def state_of(self, subject: Subject) -> dict[str, Any] | None:
        return self.states.get(subject)

    async def save_state(
        self,
        subject: Subject,
        tenant_id: uuid.UUID | None,
        state: dict[str, Any] | None,
        at: datetime,
    ) -> None:
        if state is None:
            self.states.pop(subject, None)
        else:
            self.states[subject] = state

    async def add_entry(self, entry: Entry) -> None:
        if any(e.event_id == entry.event_id for e in self.entries.values()):
            return
        new_id = max(self.entries, default=0) + 1
        self.entries[new_id] = dataclasses.replace(entry, id=new_id)

    async def newest(
        self, tenant_id: uuid.UUID | None, f: AuditFilter, before: int | None, limit: int
    ) -> list[Entry]:
        found = [e for i, e in sorted(self.entries.items(), reverse=True)
                 if (before is None or i < before) and _matches(e, tenant_id, f)]  # fmt: skip
        return found[:limit]

    async def oldest(
        self, tenant_id: uuid.UUID | None, f: AuditFilter, after: int, limit: int
    ) -> list[Entry]:
        found = [e for i, e in sorted(self.entries.items())
                 if i > after and _matches(e, tenant_id, f)]  # fmt: skip
        return found[:limit]

    async def delete_older_than(self, cutoff: datetime, limit: int) -> int:
        old = [i for i, e in sorted(self.entries.items()) if e.occurred_at < cutoff][:limit]
        for i in old:
            del self.entries[i]
        return len(old)
