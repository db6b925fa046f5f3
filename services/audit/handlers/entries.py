"""Recording administrative changes, reading them back, and forgetting them after the
retention period."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, Protocol

from services.audit.domain.commands import AuditFilter
from services.audit.domain.model import (
    Entry,
    Subject,
    entry_of,
    is_administrative,
    next_state,
    retention_cutoff,
    tracks_state,
)
from shared.db.uow import Transactions, UnitOfWork
from shared.events.registry import DecodedEvent
from shared.http.auth import Principal

PURGE_BATCH = 5000
"""Entries deleted per transaction, so a long backlog never holds one huge lock."""


class EntryRepository(Protocol):
    """What the handlers need of the repository (the SQL one, or a unit test's)."""

    async def state_of(self, subject: Subject) -> dict[str, Any] | None: ...

    async def save_state(
        self,
        subject: Subject,
        tenant_id: uuid.UUID | None,
        state: dict[str, Any] | None,
        at: datetime,
    ) -> None: ...

    async def add_entry(self, entry: Entry) -> None: ...

    async def newest(
        self, tenant_id: uuid.UUID | None, f: AuditFilter, before: int | None, limit: int
    ) -> list[Entry]: ...

    async def oldest(
        self, tenant_id: uuid.UUID | None, f: AuditFilter, after: int, limit: int
    ) -> list[Entry]: ...

    async def delete_older_than(self, cutoff: datetime, limit: int) -> int: ...


async def record(uow: UnitOfWork[EntryRepository], event: DecodedEvent[Any]) -> None:
    """Apply one event of an administrative topic: keep its subject's state current and,
    when someone caused it, store the entry with the state before and after."""
    envelope = event.envelope
    if not tracks_state(envelope):
        return
    subject = Subject.of(envelope)
    before = await uow.repo.state_of(subject)
    after = next_state(before, envelope)
    await uow.repo.save_state(subject, envelope.tenant_id, after, envelope.occurred_at)
    if is_administrative(envelope):
        await uow.repo.add_entry(entry_of(envelope, before, after))


def _tenant(who: Principal) -> uuid.UUID | None:
    """The tenant whose entries ``who`` reads (None: every tenant, for the operator)."""
    who.require_role("admin")
    return who.tenant_scope()


async def list_entries(
    tx: Transactions[EntryRepository],
    who: Principal,
    f: AuditFilter,
    before: int | None,
    limit: int,
) -> list[Entry]:
    """A page of the caller's tenant's entries, newest first."""
    tenant = _tenant(who)
    async with tx() as uow:
        return await uow.repo.newest(tenant, f, before, limit)


def export_entries(
    tx: Transactions[EntryRepository], who: Principal, f: AuditFilter, batch: int
) -> AsyncIterator[list[Entry]]:
    """The caller's tenant's matching entries, oldest first, in batches of ``batch`` (one
    short transaction each: a slow reader holds no lock). Authorises before the first
    batch is asked for."""
    tenant = _tenant(who)

    async def batches() -> AsyncIterator[list[Entry]]:
        after = 0
        while True:
            async with tx() as uow:
                found = await uow.repo.oldest(tenant, f, after, batch)
            if found:
                yield found
            if len(found) < batch:
                return
            after = found[-1].id

    return batches()


async def purge(
    tx: Transactions[EntryRepository], retention_days: int, now: datetime | None = None
) -> int:
    """Delete every entry older than the retention period; how many were deleted."""
    cutoff = retention_cutoff(now or datetime.now(UTC), retention_days)
    removed = 0
    while True:
        async with tx() as uow:
            gone = await uow.repo.delete_older_than(cutoff, PURGE_BATCH)
        removed += gone
        if gone < PURGE_BATCH:
            return removed
