"""IPP jobs by their integer job-id (asyncpg; search_path is the service's schema)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

from services.ipp.domain.model import IppJob

_COLUMNS = (
    "id, target_id, owner_id, tenant_id, name, settings, job_uuid, state, created_at,"
    " hold_until, document_id"
)


def _job(row: Any) -> IppJob:
    settings = row["settings"]
    return IppJob(
        id=row["id"], target_id=row["target_id"], owner_id=row["owner_id"],
        tenant_id=row["tenant_id"], name=row["name"],
        settings=json.loads(settings) if isinstance(settings, str) else dict(settings),
        job_uuid=row["job_uuid"], state=row["state"], created_at=row["created_at"],
        hold_until=row["hold_until"], document_id=row["document_id"],
    )  # fmt: skip


class IppRepository:
    """The ``ipp_jobs`` table on one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def add(
        self,
        target_id: uuid.UUID,
        owner_id: str,
        tenant_id: uuid.UUID | None,
        name: str,
        settings: dict[str, object],
        job_uuid: uuid.UUID | None,
        *,
        hold_until: str | None = None,
        document_id: uuid.UUID | None = None,
    ) -> IppJob:
        """A new IPP job: submitted when ``job_uuid`` is given, held when its stored
        ``document_id`` is, else awaiting its document."""
        state = "submitted" if job_uuid else "held" if document_id else "awaiting-document"
        row = await self.conn.fetchrow(
            f"INSERT INTO ipp_jobs (target_id, owner_id, tenant_id, name, settings, job_uuid,"
            f" state, hold_until, document_id) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8,"
            f" $9) RETURNING {_COLUMNS}",
            target_id, owner_id, tenant_id, name, json.dumps(settings), job_uuid, state,
            hold_until, document_id,
        )  # fmt: skip
        return _job(row)

    async def get(self, job_id: int, *, lock: bool = False) -> IppJob | None:
        """The IPP job ``job_id`` (row-locked for an update when ``lock``)."""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM ipp_jobs WHERE id = $1{' FOR UPDATE' if lock else ''}",
            job_id,
        )
        return _job(row) if row else None

    async def save(self, job: IppJob) -> None:
        """Store the job's Printcloud job, state, hold and stored document."""
        await self.conn.execute(
            "UPDATE ipp_jobs SET job_uuid = $2, state = $3, hold_until = $4, document_id = $5"
            " WHERE id = $1",
            job.id, job.job_uuid, job.state, job.hold_until, job.document_id,
        )  # fmt: skip

    async def list_for(self, target_id: uuid.UUID, owner_id: str, limit: int) -> list[IppJob]:
        """The owner's IPP jobs at a printer, newest first."""
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM ipp_jobs WHERE target_id = $1 AND owner_id = $2"
            " ORDER BY id DESC LIMIT $3",
            target_id, owner_id, limit,
        )  # fmt: skip
        return [_job(r) for r in rows]
