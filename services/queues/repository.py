"""SQL for the queues' own schema (asyncpg, no ORM)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.queues.domain.model import Job
from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings

_JOB_COLUMNS = (
    "id, tenant_id, owner_id, document_id, release, title, pages, settings, state, printer_id, "
    "virtual_printer_id, decision, hold_reason, expires_at, reservation_id, sequence, "
    "submitted_at, queued_at, finished_at"
)


def changes_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel of a schema's job state changes."""
    return f"printcloud_jobs_{schema}"


def job_of(row: asyncpg.Record) -> Job:
    """A Job from a jobs row."""
    values = dict(row)
    values["settings"] = JobSettings.model_validate(values["settings"])
    return Job(**values)


# ------------------------------------------------------------------------- documents


async def insert_document(conn: asyncpg.Connection, **values: Any) -> asyncpg.Record:
    """Insert a document row; returns it."""
    names = list(values)
    sql = (
        f"INSERT INTO documents ({', '.join(names)}) "
        f"VALUES ({', '.join(f'${i}' for i in range(1, len(names) + 1))}) RETURNING *"
    )
    return await conn.fetchrow(sql, *values.values())


async def get_document(
    conn: asyncpg.Connection, document_id: uuid.UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    """A live (not deleted) document by id."""
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT * FROM documents WHERE id = $1 AND deleted_at IS NULL{lock}", document_id
    )


async def lock_blob(conn: asyncpg.Connection, sha256: str) -> None:
    """Serialise, until commit, whoever adds or drops a reference to blob ``sha256``."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", sha256)


async def blob_referenced(conn: asyncpg.Connection, sha256: str) -> bool:
    """Whether a live document still names the blob."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM documents WHERE sha256 = $1 AND deleted_at IS NULL)",
            sha256,
        )
    )


async def documents_due(
    conn: asyncpg.Connection, now: datetime, retention_s: int, limit: int
) -> list[asyncpg.Record]:
    """Documents past retention: every job finished long enough ago (or, never used and
    not kept, uploaded long enough ago); locked, skipping rows another replica holds."""
    return await conn.fetch(
        """
        SELECT d.* FROM documents d
        WHERE d.deleted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.document_id = d.id AND j.finished_at IS NULL)
          AND (
            (EXISTS (SELECT 1 FROM jobs j WHERE j.document_id = d.id) AND NOT d.keep
             AND (SELECT max(j.finished_at) FROM jobs j WHERE j.document_id = d.id)
                 <= $1::timestamptz - make_interval(secs => $2::double precision))
            OR (NOT EXISTS (SELECT 1 FROM jobs j WHERE j.document_id = d.id) AND NOT d.keep
                AND d.created_at <= $1::timestamptz - make_interval(secs => $2::double precision))
          )
        ORDER BY d.created_at
        LIMIT $3
        FOR UPDATE OF d SKIP LOCKED
        """,
        now,
        float(retention_s),
        limit,
    )


async def mark_document_deleted(conn: asyncpg.Connection, document_id: uuid.UUID, at: datetime) -> None:
    """The document's content is gone (the row stays for its jobs' history)."""
    await conn.execute("UPDATE documents SET deleted_at = $2 WHERE id = $1", document_id, at)


async def kept_documents(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, owner_id: uuid.UUID, limit: int
) -> list[asyncpg.Record]:
    """The owner's kept documents, highest priority first, oldest first on ties; locked."""
    return await conn.fetch(
        """
        SELECT * FROM documents
        WHERE tenant_id = $1 AND owner_id = $2 AND keep AND deleted_at IS NULL
        ORDER BY priority DESC, created_at, id
        LIMIT $3
        FOR UPDATE SKIP LOCKED
        """,
        tenant_id,
        owner_id,
        limit,
    )


# ------------------------------------------------------------------------------ jobs


async def insert_job(conn: asyncpg.Connection, job: Job) -> None:
    """Insert a new job."""
    await conn.execute(
        f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES "
        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
        "coalesce($17, now()), $18, $19)",
        *_job_values(job),
    )


def _job_values(job: Job) -> list[Any]:
    return [
        job.id, job.tenant_id, job.owner_id, job.document_id, job.release, job.title, job.pages,
        job.settings.model_dump(mode="json"), job.state, job.printer_id, job.virtual_printer_id,
        job.decision, job.hold_reason, job.expires_at, job.reservation_id, job.sequence,
        job.submitted_at, job.queued_at, job.finished_at,
    ]  # fmt: skip


async def save_job(conn: asyncpg.Connection, job: Job) -> None:
    """Write a job's changeable fields."""
    await conn.execute(
        """
        UPDATE jobs SET state = $2, printer_id = $3, decision = $4, hold_reason = $5,
            expires_at = $6, queued_at = $7, finished_at = $8, sequence = $9
        WHERE id = $1
        """,
        job.id, job.state, job.printer_id, job.decision, job.hold_reason, job.expires_at,
        job.queued_at, job.finished_at, job.sequence,
    )  # fmt: skip


async def get_job(
    conn: asyncpg.Connection, job_id: uuid.UUID, *, for_update: bool = False
) -> Job | None:
    """A job by id (locked for the transaction with ``for_update``)."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = $1{lock}", job_id)
    return job_of(row) if row else None


async def lock_jobs(conn: asyncpg.Connection, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Job]:
    """Lock jobs in id order (no deadlock between two releases); the ones that exist."""
    rows = await conn.fetch(
        f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        list(job_ids),
    )
    return {r["id"]: job_of(r) for r in rows}


async def list_jobs(
    conn: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID | None,
    owner_id: uuid.UUID | None,
    state: str | None,
    printer_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Job]:
    """Jobs in id order, keyset-paginated, narrowed by the filters that are set."""
    rows = await conn.fetch(
        f"""
        SELECT {_JOB_COLUMNS} FROM jobs
        WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR owner_id = $2)
          AND ($3::text IS NULL OR state = $3) AND ($4::uuid IS NULL OR printer_id = $4)
          AND ($5::uuid IS NULL OR id > $5)
        ORDER BY id LIMIT $6
        """,
        tenant_id, owner_id, state, printer_id, after, limit,
    )  # fmt: skip
    return [job_of(r) for r in rows]


async def jobs_at_printers(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, printer_ids: Sequence[uuid.UUID]
) -> list[asyncpg.Record]:
    """Jobs in the printers' queues, in queue order (reservations first, in their
    sequence), with what a device shows and fetches."""
    return await conn.fetch(
        f"""
        SELECT {', '.join('j.' + c.strip() for c in _JOB_COLUMNS.split(','))},
               d.sha256, d.size, d.format, u.display_name AS owner_name
        FROM jobs j JOIN documents d ON d.id = j.document_id
        LEFT JOIN users u ON u.id = j.owner_id
        LEFT JOIN reservations r ON r.id = j.reservation_id
        WHERE j.tenant_id = $1 AND j.printer_id = ANY($2::uuid[])
          AND j.state IN ('queued', 'sent', 'printing')
        ORDER BY (j.reservation_id IS NULL), r.created_at, j.sequence, j.queued_at, j.id
        """,
        tenant_id,
        list(printer_ids),
    )


async def held_jobs_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[Job]:
    """Held (or reserved and still queued) jobs past their expiry; locked, skipping
    rows another replica holds."""
    rows = await conn.fetch(
        f"""
        SELECT {_JOB_COLUMNS} FROM jobs
        WHERE state IN ('held', 'queued') AND expires_at IS NOT NULL AND expires_at <= $1
        ORDER BY expires_at LIMIT $2
        FOR UPDATE SKIP LOCKED
        """,
        now,
        limit,
    )
    return [job_of(r) for r in rows]


async def held_pull_jobs(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, owner_id: uuid.UUID, printer_id: uuid.UUID
) -> list[uuid.UUID]:
    """The owner's held jobs at virtual printers that have ``printer_id`` as a member."""
    rows = await conn.fetch(
        """
        SELECT j.id FROM jobs j JOIN virtual_printers v ON v.id = j.virtual_printer_id
        WHERE j.tenant_id = $1 AND j.owner_id = $2 AND j.state = 'held'
          AND $3 = ANY(v.members)
        ORDER BY j.submitted_at, j.id
        """,
        tenant_id,
        owner_id,
        printer_id,
    )
    return [r["id"] for r in rows]


async def secure_jobs_of(
    conn: asyncpg.Connection, printer_id: uuid.UUID, owner_id: uuid.UUID
) -> list[uuid.UUID]:
    """The owner's secure-release jobs in the printer's queue."""
    rows = await conn.fetch(
        "SELECT id FROM jobs WHERE printer_id = $1 AND owner_id = $2 AND release = 'secure' "
        "AND state IN ('queued', 'sent', 'printing') ORDER BY queued_at",
        printer_id,
        owner_id,
    )
    return [r["id"] for r in rows]


async def add_history(
    conn: asyncpg.Connection, schema: str, job: Job, detail: dict[str, Any] | None = None
) -> int:
    """Record the job's new state and wake the event streams of every replica at commit."""
    history_id: int = await conn.fetchval(
        """
        INSERT INTO job_history (job_id, tenant_id, owner_id, state, printer_id, detail)
        VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
        """,
        job.id, job.tenant_id, job.owner_id, job.state, job.printer_id, detail or {},
    )  # fmt: skip
    note = json.dumps({"id": history_id, "job_id": str(job.id), "owner_id": str(job.owner_id)})
    await conn.execute("SELECT pg_notify($1, $2)", changes_channel(schema), note)
    return history_id


async def history_after(
    conn: asyncpg.Connection,
    *,
    after: int,
    job_id: uuid.UUID | None = None,
    tenant_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    limit: int = 500,
) -> list[asyncpg.Record]:
    """State changes after history id ``after``, of one job or of one owner's jobs."""
    return await conn.fetch(
        """
        SELECT id, job_id, state, printer_id, detail, at FROM job_history
        WHERE id > $1 AND ($2::uuid IS NULL OR job_id = $2)
          AND ($3::uuid IS NULL OR tenant_id = $3) AND ($4::uuid IS NULL OR owner_id = $4)
        ORDER BY id LIMIT $5
        """,
        after, job_id, tenant_id, owner_id, limit,
    )  # fmt: skip


async def last_history_id(conn: asyncpg.Connection) -> int:
    """The newest history id (0 when there is none)."""
    return int(await conn.fetchval("SELECT coalesce(max(id), 0) FROM job_history"))


# --------------------------------------------------------------- reservations


async def insert_reservation(conn: asyncpg.Connection, **values: Any) -> None:
    """Insert a reservation."""
    await conn.execute(
        "INSERT INTO reservations (id, tenant_id, owner_id, printer_id, deadline) "
        "VALUES ($1, $2, $3, $4, $5)",
        values["id"], values["tenant_id"], values["owner_id"], values["printer_id"],
        values["deadline"],
    )  # fmt: skip


async def set_document_kept(conn: asyncpg.Connection, document_id: uuid.UUID, keep: bool) -> None:
    """Keep (or stop keeping) a document for later reservations."""
    await conn.execute("UPDATE documents SET keep = $2 WHERE id = $1", document_id, keep)


# ----------------------------------------------------------------------- read models


async def get_printer(conn: asyncpg.Connection, printer_id: uuid.UUID) -> asyncpg.Record | None:
    """A printer of the read model."""
    return await conn.fetchrow("SELECT * FROM printers WHERE id = $1", printer_id)


async def printers_capabilities(
    conn: asyncpg.Connection, printer_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Capabilities | None]:
    """The latest capabilities of each printer known (None: not reported yet)."""
    rows = await conn.fetch(
        "SELECT id, capabilities FROM printers WHERE id = ANY($1::uuid[])", list(printer_ids)
    )
    return {
        r["id"]: Capabilities.model_validate(r["capabilities"]) if r["capabilities"] else None
        for r in rows
    }


async def upsert_printer(conn: asyncpg.Connection, data: Any) -> None:
    """A printer's descriptive state, unless an equal or newer revision is stored."""
    await conn.execute(
        """
        INSERT INTO printers (id, tenant_id, name, model, region, revision)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (id) DO UPDATE SET name = $3, model = $4, region = $5, revision = $6
        WHERE printers.revision < $6 AND printers.tenant_id = $2
        """,
        data.printer_id, data.tenant_id, data.name, data.model, data.region, data.revision,
    )  # fmt: skip


async def set_capabilities(
    conn: asyncpg.Connection, printer_id: uuid.UUID, tenant_id: uuid.UUID, version: int,
    document: dict[str, Any],
) -> None:  # fmt: skip
    """A printer's capabilities, unless a newer version is stored."""
    await conn.execute(
        """
        INSERT INTO printers (id, tenant_id, capabilities, capabilities_version)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO UPDATE SET capabilities = $3, capabilities_version = $4
        WHERE printers.capabilities_version < $4 AND printers.tenant_id = $2
        """,
        printer_id, tenant_id, document, version,
    )  # fmt: skip


async def set_connection(
    conn: asyncpg.Connection, printer_id: uuid.UUID, tenant_id: uuid.UUID, state: str, at: datetime
) -> None:
    """A printer's connection state, unless a later one is stored."""
    await conn.execute(
        """
        INSERT INTO printers (id, tenant_id, connection_state, connection_at)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO UPDATE SET connection_state = $3, connection_at = $4
        WHERE (printers.connection_at IS NULL OR printers.connection_at <= $4)
          AND printers.tenant_id = $2
        """,
        printer_id, tenant_id, state, at,
    )  # fmt: skip


async def get_virtual_printer(
    conn: asyncpg.Connection, virtual_printer_id: uuid.UUID
) -> asyncpg.Record | None:
    """A virtual printer of the read model."""
    return await conn.fetchrow("SELECT * FROM virtual_printers WHERE id = $1", virtual_printer_id)


async def upsert_virtual_printer(conn: asyncpg.Connection, data: Any) -> None:
    """A virtual printer's state, unless an equal or newer revision is stored."""
    await conn.execute(
        """
        INSERT INTO virtual_printers (id, tenant_id, name, revision, members)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id) DO UPDATE SET name = $3, revision = $4, members = $5
        WHERE virtual_printers.revision < $4 AND virtual_printers.tenant_id = $2
        """,
        data.virtual_printer_id, data.tenant_id, data.name, data.revision, data.members,
    )  # fmt: skip


async def replace_connector_devices(
    conn: asyncpg.Connection, connector_id: uuid.UUID, tenant_id: uuid.UUID, revision: int,
    printer_ids: Sequence[uuid.UUID],
) -> bool:  # fmt: skip
    """Make the connector the holder of exactly ``printer_ids``; False for a stale revision."""
    applied = await conn.fetchval(
        """
        INSERT INTO connectors (id, tenant_id, revision) VALUES ($1, $2, $3)
        ON CONFLICT (id) DO UPDATE SET revision = $3
        WHERE connectors.revision < $3 AND connectors.tenant_id = $2
        RETURNING true
        """,
        connector_id,
        tenant_id,
        revision,
    )
    if not applied:
        return False
    await conn.execute(
        "DELETE FROM printer_holders WHERE connector_id = $1 AND NOT printer_id = ANY($2::uuid[])",
        connector_id,
        list(printer_ids),
    )
    await conn.execute(
        """
        INSERT INTO printer_holders (printer_id, connector_id, tenant_id)
        SELECT p, $1, $2 FROM unnest($3::uuid[]) AS p
        ON CONFLICT (printer_id) DO UPDATE SET connector_id = $1, tenant_id = $2
        """,
        connector_id,
        tenant_id,
        list(printer_ids),
    )
    return True


async def holder_of(conn: asyncpg.Connection, printer_id: uuid.UUID) -> uuid.UUID:
    """The device holding the printer's websocket: its connector, or the printer itself."""
    holder = await conn.fetchval(
        "SELECT connector_id FROM printer_holders WHERE printer_id = $1", printer_id
    )
    return holder or printer_id


async def printers_held_by(
    conn: asyncpg.Connection, device_id: uuid.UUID, tenant_id: uuid.UUID
) -> list[uuid.UUID]:
    """The printers a device answers for: itself, and those it bridges as a connector."""
    rows = await conn.fetch(
        "SELECT printer_id FROM printer_holders WHERE connector_id = $1 AND tenant_id = $2",
        device_id,
        tenant_id,
    )
    own = await conn.fetchval(
        "SELECT id FROM printers WHERE id = $1 AND tenant_id = $2", device_id, tenant_id
    )
    return ([own] if own else []) + [r["printer_id"] for r in rows]


async def upsert_user(
    conn: asyncpg.Connection, user_id: uuid.UUID, tenant_id: uuid.UUID | None, display_name: str,
    revision: int, deleted: bool,
) -> None:  # fmt: skip
    """A user's display name, unless an equal or newer revision is stored."""
    await conn.execute(
        """
        INSERT INTO users (id, tenant_id, display_name, revision, deleted)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (id) DO UPDATE SET display_name = $3, revision = $4, deleted = $5
        WHERE users.revision < $4 OR ($5 AND NOT users.deleted)
        """,
        user_id, tenant_id, display_name, revision, deleted,
    )  # fmt: skip


async def open_session(conn: asyncpg.Connection, **values: Any) -> bool:
    """Record a session at a printer; False when it was already recorded."""
    return bool(
        await conn.fetchval(
            """
            INSERT INTO sessions (id, tenant_id, printer_id, user_id, display_name, opened_at,
                                  expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING true
            """,
            values["id"], values["tenant_id"], values["printer_id"], values["user_id"],
            values["display_name"], values["opened_at"], values["expires_at"],
        )  # fmt: skip
    )


async def has_session(
    conn: asyncpg.Connection, printer_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> bool:
    """Whether the user has an open session at the printer."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM sessions WHERE printer_id = $1 AND user_id = $2 "
            "AND expires_at > $3)",
            printer_id,
            user_id,
            now,
        )
    )


async def open_sessions(
    conn: asyncpg.Connection, printer_ids: Sequence[uuid.UUID], now: datetime
) -> list[asyncpg.Record]:
    """Open sessions at the printers, newest first."""
    return await conn.fetch(
        "SELECT * FROM sessions WHERE printer_id = ANY($1::uuid[]) AND expires_at > $2 "
        "ORDER BY opened_at DESC",
        list(printer_ids),
        now,
    )
