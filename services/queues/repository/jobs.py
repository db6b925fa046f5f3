"""Documents, jobs, their history and reservations."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.queues.domain.model import Document, HistoryEntry, Job, QueuedJob, Reservation
from shared.printing.settings import JobSettings

_JOB_COLUMNS = (
    "id, tenant_id, owner_id, document_id, release, title, pages, settings, state, printer_id, "
    "virtual_printer_id, decision, hold_reason, expires_at, reservation_id, sequence, "
    "submitted_at, queued_at, finished_at, state_detail, policy_version, policy_adjustments, "
    "policy_refusal"
)

_RESERVATION_COLUMNS = "id, tenant_id, owner_id, printer_id, deadline, created_at, canceled_at"


def changes_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel of a schema's job state changes."""
    return f"printcloud_jobs_{schema}"


def job_of(row: asyncpg.Record) -> Job:
    """A Job from a jobs row."""
    values = dict(row)
    values["settings"] = JobSettings.model_validate(values["settings"])
    values["policy_adjustments"] = tuple(values["policy_adjustments"])
    return Job(**values)


def document_of(row: asyncpg.Record) -> Document:
    """A Document from a documents row."""
    return Document(**dict(row))


def _job_values(job: Job) -> list[Any]:
    return [
        job.id,
        job.tenant_id,
        job.owner_id,
        job.document_id,
        job.release,
        job.title,
        job.pages,
        job.settings.model_dump(mode="json"),
        job.state,
        job.printer_id,
        job.virtual_printer_id,
        job.decision,
        job.hold_reason,
        job.expires_at,
        job.reservation_id,
        job.sequence,
        job.submitted_at,
        job.queued_at,
        job.finished_at,
        job.state_detail,
        job.policy_version,
        list(job.policy_adjustments),
        job.policy_refusal,
    ]


HistoryCursor = tuple[int, int]
"""A position in the history: (tx, id) of the last row read."""

_HISTORY_COLUMNS = (
    "id, tx, job_id, state, printer_id, detail, at, "
    "tx < pg_snapshot_xmin(pg_current_snapshot()) AS settled"
)
_HISTORY_OF_JOB = f"""
    SELECT {_HISTORY_COLUMNS} FROM job_history
    WHERE job_id = $3 AND (tx, id) > ($1::xid8, $2::bigint)
    ORDER BY tx, id LIMIT $4
"""
_HISTORY_OF_OWNER = f"""
    SELECT {_HISTORY_COLUMNS} FROM job_history
    WHERE tenant_id = $3 AND owner_id = $4 AND (tx, id) > ($1::xid8, $2::bigint)
    ORDER BY tx, id LIMIT $5
"""


class Jobs:
    """Documents, jobs, their history and reservations."""

    conn: asyncpg.Connection
    schema: str

    async def insert_document(self, **values: Any) -> Document:
        """Insert a document row; returns it."""
        names = list(values)
        sql = (
            f"INSERT INTO documents ({', '.join(names)}) "
            f"VALUES ({', '.join(f'${i}' for i in range(1, len(names) + 1))}) RETURNING *"
        )
        return document_of(await self.conn.fetchrow(sql, *values.values()))

    async def get_document(
        self, document_id: uuid.UUID, *, for_update: bool = False
    ) -> Document | None:
        """A live (not deleted) document by id."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT * FROM documents WHERE id = $1 AND deleted_at IS NULL{lock}", document_id
        )
        return document_of(row) if row else None

    async def lock_blob(self, sha256: str) -> None:
        """Serialise, until commit, whoever adds or drops a reference to blob ``sha256``."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))", sha256)

    async def lock_tenant_storage(self, tenant_id: uuid.UUID) -> None:
        """Serialise the tenant's document registrations until commit (storage quota)."""
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 8))", str(tenant_id)
        )

    async def tenant_storage(self, tenant_id: uuid.UUID) -> int:
        """Bytes of the tenant's live documents (each counted, shared blobs included)."""
        used = await self.conn.fetchval(
            "SELECT coalesce(sum(size), 0) FROM documents"
            " WHERE tenant_id = $1 AND deleted_at IS NULL",
            tenant_id,
        )
        return int(used)

    async def blob_referenced(self, sha256: str) -> bool:
        """Whether a live document still names the blob."""
        return bool(
            await self.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM documents WHERE sha256 = $1 AND deleted_at IS NULL)",
                sha256,
            )
        )

    async def documents_due(self, now: datetime, retention_s: int, limit: int) -> list[Document]:
        """Documents past retention: every job finished long enough ago (or, never used and
        not kept, uploaded long enough ago); locked, skipping rows another replica holds."""
        rows = await self.conn.fetch(
            """
            SELECT d.* FROM documents d
            WHERE d.deleted_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM jobs j
                              WHERE j.document_id = d.id AND j.finished_at IS NULL)
              AND (
                (EXISTS (SELECT 1 FROM jobs j WHERE j.document_id = d.id) AND NOT d.keep
                 AND (SELECT max(j.finished_at) FROM jobs j WHERE j.document_id = d.id)
                     <= $1::timestamptz - make_interval(secs => $2::double precision))
                OR (NOT EXISTS (SELECT 1 FROM jobs j WHERE j.document_id = d.id) AND NOT d.keep
                    AND d.created_at
                        <= $1::timestamptz - make_interval(secs => $2::double precision))
              )
            ORDER BY d.created_at
            LIMIT $3
            FOR UPDATE OF d SKIP LOCKED
            """,
            now,
            float(retention_s),
            limit,
        )
        return [document_of(r) for r in rows]

    async def mark_document_deleted(self, document_id: uuid.UUID, at: datetime) -> None:
        """The document's content is gone (the row stays for its jobs' history)."""
        await self.conn.execute(
            "UPDATE documents SET deleted_at = $2 WHERE id = $1", document_id, at
        )

    async def kept_documents(
        self, tenant_id: uuid.UUID, owner_id: uuid.UUID, limit: int
    ) -> list[Document]:
        """The owner's kept documents, highest priority first, oldest first on ties; locked."""
        rows = await self.conn.fetch(
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
        return [document_of(r) for r in rows]

    async def insert_job(self, job: Job) -> None:
        """Insert a new job."""
        await self.conn.execute(
            f"INSERT INTO jobs ({_JOB_COLUMNS}) VALUES "
            "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
            "coalesce($17, now()), $18, $19, $20, $21, $22, $23)",
            *_job_values(job),
        )

    async def save_job(self, job: Job) -> None:
        """Write a job's changeable fields."""
        await self.conn.execute(
            """
            UPDATE jobs SET state = $2, printer_id = $3, decision = $4, hold_reason = $5,
                expires_at = $6, queued_at = $7, finished_at = $8, sequence = $9,
                state_detail = $10, settings = $11, release = $12, policy_version = $13,
                policy_adjustments = $14, policy_refusal = $15
            WHERE id = $1
            """,
            job.id,
            job.state,
            job.printer_id,
            job.decision,
            job.hold_reason,
            job.expires_at,
            job.queued_at,
            job.finished_at,
            job.sequence,
            job.state_detail,
            job.settings.model_dump(mode="json"),
            job.release,
            job.policy_version,
            list(job.policy_adjustments),
            job.policy_refusal,
        )

    async def get_job(self, job_id: uuid.UUID, *, for_update: bool = False) -> Job | None:
        """A job by id (locked for the transaction with ``for_update``)."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = $1{lock}", job_id
        )
        return job_of(row) if row else None

    async def lock_jobs(self, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Job]:
        """Lock jobs in id order (no deadlock between two releases); the ones that exist."""
        rows = await self.conn.fetch(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
            list(job_ids),
        )
        return {r["id"]: job_of(r) for r in rows}

    async def list_jobs(
        self,
        *,
        tenant_id: uuid.UUID | None,
        owner_id: uuid.UUID | None,
        state: str | None,
        printer_id: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Job]:
        """Jobs in id order, keyset-paginated, narrowed by the filters that are set."""
        rows = await self.conn.fetch(
            f"""
            SELECT {_JOB_COLUMNS} FROM jobs
            WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::uuid IS NULL OR owner_id = $2)
              AND ($3::text IS NULL OR state = $3) AND ($4::uuid IS NULL OR printer_id = $4)
              AND ($5::uuid IS NULL OR id > $5)
            ORDER BY id LIMIT $6
            """,
            tenant_id,
            owner_id,
            state,
            printer_id,
            after,
            limit,
        )
        return [job_of(r) for r in rows]

    async def jobs_at_printers(
        self, tenant_id: uuid.UUID, printer_ids: Sequence[uuid.UUID]
    ) -> list[QueuedJob]:
        """Jobs in the printers' queues, in queue order (reservations first, in their
        sequence), with what a device shows and fetches."""
        rows = await self.conn.fetch(
            f"""
            SELECT {", ".join("j." + c.strip() for c in _JOB_COLUMNS.split(","))},
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
        extra = ("sha256", "size", "format", "owner_name")
        return [
            QueuedJob(
                job_of({k: r[k] for k in r.keys() if k not in extra}),
                **{k: r[k] for k in extra},
            )
            for r in rows
        ]

    async def held_jobs_due(self, now: datetime, limit: int) -> list[Job]:
        """Held (or reserved and still queued) jobs past their expiry; locked, skipping
        rows another replica holds."""
        rows = await self.conn.fetch(
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
        self, tenant_id: uuid.UUID, owner_id: uuid.UUID, printer_id: uuid.UUID
    ) -> list[uuid.UUID]:
        """The owner's jobs held for release (not by a quota) at virtual printers that have
        ``printer_id`` as a member."""
        rows = await self.conn.fetch(
            """
            SELECT j.id FROM jobs j JOIN virtual_printers v ON v.id = j.virtual_printer_id
            WHERE j.tenant_id = $1 AND j.owner_id = $2 AND j.state = 'held'
              AND j.hold_reason = 'pull' AND $3 = ANY(v.members)
            ORDER BY j.submitted_at, j.id
            """,
            tenant_id,
            owner_id,
            printer_id,
        )
        return [r["id"] for r in rows]

    async def secure_jobs_of(self, printer_id: uuid.UUID, owner_id: uuid.UUID) -> list[uuid.UUID]:
        """The owner's secure-release jobs in the printer's queue."""
        rows = await self.conn.fetch(
            "SELECT id FROM jobs WHERE printer_id = $1 AND owner_id = $2 AND release = 'secure' "
            "AND state IN ('queued', 'sent', 'printing') ORDER BY queued_at",
            printer_id,
            owner_id,
        )
        return [r["id"] for r in rows]

    async def add_history(self, job: Job, detail: dict[str, Any] | None = None) -> int:
        """Record the job's new state and wake the event streams of every replica at commit.

        The row's ``tx`` is this transaction's id, or the job's previous change's when that is
        larger (this transaction took its id before it waited for the job's lock): one job's
        changes then stream in the order they committed. Never below this transaction's own id,
        so no stream can have passed it while it runs (see :func:`history_after`)."""
        assert self.schema, "the repository names its schema (the streams' channel)"
        history_id: int = await self.conn.fetchval(
            """
            INSERT INTO job_history (job_id, tenant_id, owner_id, state, printer_id, detail, tx)
            VALUES ($1, $2, $3, $4, $5, $6, greatest(
                pg_current_xact_id(),
                (SELECT tx FROM job_history WHERE job_id = $1 ORDER BY tx DESC, id DESC LIMIT 1)))
            RETURNING id
            """,
            job.id,
            job.tenant_id,
            job.owner_id,
            job.state,
            job.printer_id,
            detail or {},
        )
        note = json.dumps({"id": history_id, "job_id": str(job.id), "owner_id": str(job.owner_id)})
        await self.conn.execute("SELECT pg_notify($1, $2)", changes_channel(self.schema), note)
        return history_id

    async def history_after(
        self,
        *,
        after: HistoryCursor,
        job_id: uuid.UUID | None = None,
        tenant_id: uuid.UUID | None = None,
        owner_id: uuid.UUID | None = None,
        limit: int = 500,
    ) -> tuple[list[HistoryEntry], bool]:
        """State changes after the cursor ``after``, of one job or of one owner's jobs, in
        (tx, id) order; and whether more are already committed but not readable yet.

        Only rows whose ``tx`` is below the oldest transaction still running (the xmin of the
        statement's own snapshot) are returned: every transaction with a smaller id has ended,
        and a row is never written with a ``tx`` below its own transaction's id, so no row can
        later appear before the cursor. A row above that horizon waits until the transactions
        before it end (its own commit's NOTIFY, or a poll, reads it then)."""
        if job_id is not None:
            rows = await self.conn.fetch(_HISTORY_OF_JOB, after[0], after[1], job_id, limit)
        elif tenant_id is not None and owner_id is not None:
            rows = await self.conn.fetch(
                _HISTORY_OF_OWNER, after[0], after[1], tenant_id, owner_id, limit
            )
        else:
            raise ValueError("the history of a job, or of a tenant's owner")
        settled: list[HistoryEntry] = []
        for row in rows:
            if not row["settled"]:
                return settled, True
            settled.append(HistoryEntry(**{k: v for k, v in row.items() if k != "settled"}))
        return settled, False

    async def history_horizon(self) -> HistoryCursor:
        """A cursor before every change not committed yet: (the oldest running transaction, 0).
        A stream from it may also repeat changes that committed just before, while an older
        transaction was still running."""
        return int(await self.conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())")), 0

    async def insert_reservation(self, **values: Any) -> None:
        """Insert a reservation."""
        await self.conn.execute(
            "INSERT INTO reservations (id, tenant_id, owner_id, printer_id, deadline) "
            "VALUES ($1, $2, $3, $4, $5)",
            values["id"],
            values["tenant_id"],
            values["owner_id"],
            values["printer_id"],
            values["deadline"],
        )

    async def get_reservation(
        self, reservation_id: uuid.UUID, *, for_update: bool = False
    ) -> Reservation | None:
        """One reservation (locked for update when asked)."""
        row = await self.conn.fetchrow(
            f"SELECT {_RESERVATION_COLUMNS} FROM reservations WHERE id = $1"
            + (" FOR UPDATE" if for_update else ""),
            reservation_id,
        )
        return Reservation(**dict(row)) if row else None

    async def list_reservations(
        self,
        *,
        tenant_id: uuid.UUID,
        owner_id: uuid.UUID | None,
        printer_id: uuid.UUID | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> list[Reservation]:
        """A tenant's reservations in id order, keyset-paginated, narrowed by owner and
        printer when set."""
        rows = await self.conn.fetch(
            f"""
            SELECT {_RESERVATION_COLUMNS} FROM reservations
            WHERE tenant_id = $1 AND ($2::uuid IS NULL OR owner_id = $2)
              AND ($3::uuid IS NULL OR printer_id = $3) AND ($4::uuid IS NULL OR id > $4)
            ORDER BY id LIMIT $5
            """,
            tenant_id,
            owner_id,
            printer_id,
            after,
            limit,
        )
        return [Reservation(**dict(r)) for r in rows]

    async def reservation_jobs(
        self, reservation_ids: Sequence[uuid.UUID], *, for_update: bool = False
    ) -> list[Job]:
        """The jobs of reservations, in their print order."""
        rows = await self.conn.fetch(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE reservation_id = ANY($1::uuid[]) "
            "ORDER BY reservation_id, sequence, id" + (" FOR UPDATE" if for_update else ""),
            list(reservation_ids),
        )
        return [job_of(r) for r in rows]

    async def set_reservation_canceled(self, reservation_id: uuid.UUID, at: datetime) -> None:
        """Mark a reservation cancelled (the first time only)."""
        await self.conn.execute(
            "UPDATE reservations SET canceled_at = coalesce(canceled_at, $2) WHERE id = $1",
            reservation_id,
            at,
        )

    async def set_document_kept(self, document_id: uuid.UUID, keep: bool) -> None:
        """Keep (or stop keeping) a document for later reservations."""
        await self.conn.execute("UPDATE documents SET keep = $2 WHERE id = $1", document_id, keep)
