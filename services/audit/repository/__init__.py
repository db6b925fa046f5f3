"""SQL for audit's own schema (asyncpg, no ORM; search_path is the service's schema; JSON
columns come and go as dicts through the pool's codecs), all returning domain objects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from services.audit.domain.commands import AuditFilter
from services.audit.domain.model import Entry, Subject
from shared.events.envelope import Actor

_COLUMNS = (
    "id, event_id, tenant_id, occurred_at, actor_kind, actor_id, actor_token_id, event_type, "
    "event_version, subject_kind, subject_id, before, after, source, correlation_id"
)


def _entry(row: asyncpg.Record) -> Entry:
    return Entry(
        id=row["id"],
        event_id=row["event_id"],
        tenant_id=row["tenant_id"],
        occurred_at=row["occurred_at"],
        actor=Actor(kind=row["actor_kind"], id=row["actor_id"], token_id=row["actor_token_id"]),
        event_type=row["event_type"],
        event_version=row["event_version"],
        subject=Subject(row["subject_kind"], row["subject_id"]),
        before=row["before"],
        after=row["after"],
        source=row["source"],
        correlation_id=row["correlation_id"],
    )


def _where(tenant_id: uuid.UUID | None, f: AuditFilter) -> tuple[list[str], list[Any]]:
    """SQL conditions and their arguments for a tenant (None: every tenant) and a filter."""
    conds: list[str] = []
    args: list[Any] = []

    def add(sql: str, value: Any) -> None:
        args.append(value)
        conds.append(sql.replace("?", f"${len(args)}"))

    if tenant_id is not None:
        add("tenant_id = ?", tenant_id)
    if f.since is not None:
        add("occurred_at >= ?", f.since)
    if f.until is not None:
        add("occurred_at < ?", f.until)
    if f.subject is not None:
        add("subject_id = ?", f.subject)
    if f.actor is not None:
        add("actor_id = ?", f.actor)
    if f.actor_kind is not None:
        add("actor_kind = ?", f.actor_kind)
    if f.type is not None and f.type.endswith(".*"):
        add("event_type LIKE ?", f.type[:-1].replace("_", r"\_") + "%")
    elif f.type is not None:
        add("event_type = ?", f.type)
    return conds, args


class AuditRepository:
    """Audit entries and the subjects' last known states, on one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def state_of(self, subject: Subject) -> dict[str, Any] | None:
        """The subject's last known state (None: unknown or deleted)."""
        state: dict[str, Any] | None = await self.conn.fetchval(
            "SELECT state FROM subjects WHERE subject_kind = $1 AND subject_id = $2",
            subject.kind,
            subject.id,
        )
        return state

    async def save_state(
        self,
        subject: Subject,
        tenant_id: uuid.UUID | None,
        state: dict[str, Any] | None,
        at: datetime,
    ) -> None:
        """Remember the subject's state (None: forget the subject, it was deleted)."""
        if state is None:
            await self.conn.execute(
                "DELETE FROM subjects WHERE subject_kind = $1 AND subject_id = $2",
                subject.kind,
                subject.id,
            )
            return
        await self.conn.execute(
            """
            INSERT INTO subjects (subject_kind, subject_id, tenant_id, state, updated_at)
            VALUES ($1, $2, $3, $4::jsonb, $5)
            ON CONFLICT (subject_kind, subject_id)
            DO UPDATE SET tenant_id = $3, state = $4::jsonb, updated_at = $5
            """,
            subject.kind,
            subject.id,
            tenant_id,
            state,
            at,
        )

    async def add_entry(self, entry: Entry) -> None:
        """Store an entry (once per event: a repeat is ignored)."""
        await self.conn.execute(
            """
            INSERT INTO entries (event_id, tenant_id, occurred_at, actor_kind, actor_id,
                actor_token_id, event_type, event_version, subject_kind, subject_id, before,
                after, source, correlation_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13, $14)
            ON CONFLICT (event_id) DO NOTHING
            """,
            entry.event_id,
            entry.tenant_id,
            entry.occurred_at,
            entry.actor.kind,
            entry.actor.id,
            entry.actor.token_id,
            entry.event_type,
            entry.event_version,
            entry.subject.kind,
            entry.subject.id,
            entry.before,
            entry.after,
            entry.source,
            entry.correlation_id,
        )

    async def newest(
        self, tenant_id: uuid.UUID | None, f: AuditFilter, before: int | None, limit: int
    ) -> list[Entry]:
        """A page of matching entries, newest first, older than the cursor ``before``."""
        conds, args = _where(tenant_id, f)
        if before is not None:
            args.append(before)
            conds.append(f"id < ${len(args)}")
        args.append(limit)
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM entries {where} ORDER BY id DESC LIMIT ${len(args)}", *args
        )
        return [_entry(r) for r in rows]

    async def oldest(
        self, tenant_id: uuid.UUID | None, f: AuditFilter, after: int, limit: int
    ) -> list[Entry]:
        """Matching entries after the cursor ``after``, oldest first (an export's batch)."""
        conds, args = _where(tenant_id, f)
        args.append(after)
        conds.append(f"id > ${len(args)}")
        args.append(limit)
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM entries WHERE {' AND '.join(conds)} "
            f"ORDER BY id LIMIT ${len(args)}",
            *args,
        )
        return [_entry(r) for r in rows]

    async def delete_older_than(self, cutoff: datetime, limit: int) -> int:
        """Delete up to ``limit`` entries that occurred before ``cutoff``; how many went."""
        status = await self.conn.execute(
            """
            DELETE FROM entries WHERE id IN (
                SELECT id FROM entries WHERE occurred_at < $1 LIMIT $2
            )
            """,
            cutoff,
            limit,
        )
        return int(status.split()[-1])
