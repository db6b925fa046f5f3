"""Routing's own state: printers' policies, the jobs it may still move, and every
decision it took."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.routing.domain.model import (
    Decision,
    Job,
    Policy,
    RecordedDecision,
    Tracked,
    Whereabouts,
)
from shared.printing.settings import JobSettings


@dataclass(frozen=True)
class PolicyOutcome:
    """What the print policies did to a job, as stored with its first decision."""

    version: int
    adjustments: list[dict[str, Any]]
    refusal: dict[str, Any] | None


_SWEEP_DIGEST = hashlib.sha256(b"printcloud.routing.sweep").digest()
SWEEP_LOCK = int.from_bytes(_SWEEP_DIGEST[:8], "big", signed=True)
"""The advisory lock that elects the one replica sweeping in a round."""

_JOB_COLUMNS = (
    "job_id, tenant_id, owner_id, target_printer_id, virtual_printer_id, release, "
    "document_format, printed_pages, colour, settings, state, printer_id, hold_reason, decision"
)


def _tracked(row: asyncpg.Record) -> Tracked:
    job = Job(
        job_id=row["job_id"],
        tenant_id=row["tenant_id"],
        owner_id=row["owner_id"],
        target_printer_id=row["target_printer_id"],
        virtual_printer_id=row["virtual_printer_id"],
        document_format=row["document_format"],
        printed_pages=row["printed_pages"],
        colour=row["colour"],
        settings=JobSettings(**row["settings"]),
        pull=row["release"] == "pull",
    )
    return Tracked(job, row["state"], row["printer_id"], row["hold_reason"], row["decision"])


def _policy(row: asyncpg.Record) -> Policy:
    return Policy(
        row["on_offline"],
        row["offline_after_s"],
        row["failover_printer_id"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )


class Jobs:
    """Policies, tracked jobs and decisions."""

    conn: asyncpg.Connection

    # --- policies -------------------------------------------------------------------

    async def get_policies(self, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Policy]:
        """The policies set for the printers among ``ids`` (a printer without one is absent)."""
        rows = await self.conn.fetch(
            "SELECT * FROM policies WHERE printer_id = ANY($1::uuid[])",
            [i for i in ids if i is not None],
        )
        return {r["printer_id"]: _policy(r) for r in rows}

    async def save_policy(
        self, printer_id: uuid.UUID, tenant_id: uuid.UUID, policy: Policy, by: str
    ) -> Policy:
        """Set a printer's policy; returns it as stored."""
        row = await self.conn.fetchrow(
            """
            INSERT INTO policies (printer_id, tenant_id, on_offline, offline_after_s,
                                  failover_printer_id, updated_by)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (printer_id) DO UPDATE SET
                on_offline = EXCLUDED.on_offline, offline_after_s = EXCLUDED.offline_after_s,
                failover_printer_id = EXCLUDED.failover_printer_id, updated_at = now(),
                updated_by = EXCLUDED.updated_by
            RETURNING *
            """,
            printer_id, tenant_id, policy.on_offline, policy.offline_after_s,
            policy.failover_printer_id, by,
        )  # fmt: skip
        return _policy(row)

    async def delete_policy(self, printer_id: uuid.UUID) -> None:
        """Back to the default policy."""
        await self.conn.execute("DELETE FROM policies WHERE printer_id = $1", printer_id)

    # --- jobs -----------------------------------------------------------------------

    async def ever_decided(self, job_id: uuid.UUID) -> bool:
        """Whether routing already tracks or decided this job."""
        return bool(
            await self.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM jobs WHERE job_id = $1)"
                " OR EXISTS (SELECT 1 FROM decisions WHERE job_id = $1)",
                job_id,
            )
        )

    async def insert_job(
        self, job: Job, release: str, submitted_at: datetime, policy_version: int | None = None
    ) -> None:
        """Start tracking a submitted job (state pending), as its policies left it."""
        await self.conn.execute(
            """
            INSERT INTO jobs (job_id, tenant_id, owner_id, target_printer_id, virtual_printer_id,
                              release, document_format, printed_pages, colour, settings, state,
                              submitted_at, policy_version)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12)
            """,
            job.job_id, job.tenant_id, job.owner_id, job.target_printer_id,
            job.virtual_printer_id, release, job.document_format, job.printed_pages, job.colour,
            job.settings.model_dump(mode="json"), submitted_at, policy_version,
        )  # fmt: skip

    async def policy_version_of(self, job_id: uuid.UUID) -> int | None:
        """The policy version a tracked job was decided with."""
        value: int | None = await self.conn.fetchval(
            "SELECT policy_version FROM decisions WHERE job_id = $1 AND decision = 1", job_id
        )
        return value

    async def lock_jobs(self, ids: list[uuid.UUID], *, skip_locked: bool = False) -> list[Tracked]:
        """Tracked jobs among ``ids``, locked in id order (so two writers never deadlock)."""
        skip = " SKIP LOCKED" if skip_locked else ""
        rows = await self.conn.fetch(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id = ANY($1::uuid[])"
            f" ORDER BY job_id FOR UPDATE{skip}",
            ids,
        )
        return [_tracked(r) for r in rows]

    async def record_decision(
        self,
        job: Job,
        number: int,
        decision: Decision,
        at: datetime,
        policy: PolicyOutcome | None = None,
    ) -> None:
        """Store decision ``number`` (with what the policies did, for the first one) and
        where it puts the job."""
        await self.conn.execute(
            "INSERT INTO decisions (job_id, decision, tenant_id, action, printer_id, reason,"
            " detail, at, policy_version, adjustments, refusal)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            job.job_id, number, job.tenant_id, decision.action, decision.printer_id,
            decision.reason, decision.detail, at,
            policy.version if policy else None,
            policy.adjustments if policy else [],
            policy.refusal if policy else None,
        )  # fmt: skip
        if decision.action == "refuse":
            return
        queued = decision.action == "queue"
        await self.conn.execute(
            "UPDATE jobs SET decision = $2, state = $3, printer_id = $4, hold_reason = $5,"
            " checked_at = $6 WHERE job_id = $1",
            job.job_id, number, "queued" if queued else "held", decision.printer_id,
            None if queued else decision.reason, at,
        )  # fmt: skip

    async def track(
        self,
        job_id: uuid.UUID,
        state: str,
        printer_id: uuid.UUID | None,
        hold_reason: str | None = None,
    ) -> None:
        """Where queues says a job is now."""
        await self.conn.execute(
            "UPDATE jobs SET state = $2, printer_id = $3, hold_reason = $4 WHERE job_id = $1",
            job_id, state, printer_id, hold_reason,
        )  # fmt: skip

    async def hold_reason(self, job_id: uuid.UUID) -> str | None:
        """Why a tracked job is held (None when it is not held or not tracked)."""
        value: str | None = await self.conn.fetchval(
            "SELECT hold_reason FROM jobs WHERE job_id = $1 AND state = 'held'", job_id
        )
        return value

    async def forget_job(self, job_id: uuid.UUID) -> None:
        """A finished job can no longer move; its decisions stay for support."""
        await self.conn.execute("DELETE FROM jobs WHERE job_id = $1", job_id)

    async def touch(self, ids: list[uuid.UUID], at: datetime) -> None:
        """Mark jobs as examined at ``at`` (the sweep takes the least recently examined)."""
        await self.conn.execute(
            "UPDATE jobs SET checked_at = $2 WHERE job_id = ANY($1::uuid[])", ids, at
        )

    async def affected_by_printer(self, printer_id: uuid.UUID) -> list[uuid.UUID]:
        """Jobs a change of this printer's connection may move: held because it (or the
        printer whose alternative it is) was offline, or queued at it or at a printer whose
        alternative it is."""
        rows = await self.conn.fetch(
            """
            WITH served AS (SELECT printer_id FROM policies WHERE failover_printer_id = $1)
            SELECT job_id FROM jobs
            WHERE state = 'held' AND hold_reason = 'printer_offline'
                  AND (target_printer_id = $1 OR target_printer_id IN (SELECT * FROM served))
               OR state = 'queued'
                  AND (printer_id = $1 OR printer_id IN (SELECT * FROM served))
            """,
            printer_id,
        )
        return [r["job_id"] for r in rows]

    async def held_for_quota(self, tenant_id: uuid.UUID) -> list[uuid.UUID]:
        """A tenant's jobs held because of a quota."""
        rows = await self.conn.fetch(
            "SELECT job_id FROM jobs WHERE tenant_id = $1 AND state = 'held'"
            " AND hold_reason = 'quota'",
            tenant_id,
        )
        return [r["job_id"] for r in rows]

    async def try_sweep_lock(self) -> bool:
        """Whether this transaction is the one sweeping this round (until it ends)."""
        return bool(await self.conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", SWEEP_LOCK))

    async def sweep_candidates(self, limit: int) -> list[Tracked]:
        """Jobs a sweep re-examines, least recently examined first, locked (rows another
        transaction holds are skipped: that transaction is deciding them)."""
        rows = await self.conn.fetch(
            f"""
            SELECT {_JOB_COLUMNS} FROM jobs
            WHERE state = 'held' AND hold_reason IN ('printer_offline', 'quota')
               OR state = 'queued' AND virtual_printer_id IS NULL AND printer_id IN (
                    SELECT printer_id FROM printers WHERE connection_state = 'offline')
            ORDER BY checked_at LIMIT $1
            FOR UPDATE SKIP LOCKED
            """,
            limit,
        )
        return [_tracked(r) for r in rows]

    async def purge_decisions(self, older_than_days: int) -> int:
        """Drop decisions of finished jobs older than the retention; how many went."""
        status = await self.conn.execute(
            """
            DELETE FROM decisions d
            WHERE d.at < now() - make_interval(days => $1)
              AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.job_id = d.job_id)
            """,
            older_than_days,
        )
        return int(status.split()[-1])

    async def decisions_of(self, job_id: uuid.UUID) -> list[RecordedDecision]:
        """A job's decisions, first to last."""
        rows = await self.conn.fetch(
            "SELECT job_id, tenant_id, decision, action, printer_id, reason, detail, at,"
            " policy_version, adjustments, refusal"
            " FROM decisions WHERE job_id = $1 ORDER BY decision",
            job_id,
        )
        return [RecordedDecision(**dict(r)) for r in rows]

    async def whereabouts(self, job_id: uuid.UUID) -> Whereabouts | None:
        """Where a tracked job is now, as routing knows it."""
        row = await self.conn.fetchrow(
            "SELECT state, printer_id, hold_reason FROM jobs WHERE job_id = $1", job_id
        )
        return Whereabouts(**dict(row)) if row else None
