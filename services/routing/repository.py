"""SQL for routing's own schema: read models, policies, tracked jobs and decisions."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import asyncpg

from services.routing.domain.model import Decision, Job, Policy, Printer, Quota
from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings
from shared.readmodels.devices import PrinterTable, VirtualPrinterTable, guard_tenant

PRINTERS = PrinterTable(key="printer_id", fields=("name",), first_seen="state_since")
"""Routing's printers read model: a printer first described counts as offline since then."""
VIRTUAL_PRINTERS = VirtualPrinterTable(key="virtual_printer_id")
"""Routing's virtual printers read model."""

# --- printers -----------------------------------------------------------------------


async def save_connection(
    conn: asyncpg.Connection, printer_id: uuid.UUID, tenant_id: uuid.UUID, state: str, at: datetime
) -> bool:
    """Record online/offline since ``at`` unless a later change is known; whether it
    was recorded. (Before its first report a printer counts as offline since routing
    heard of it; the first report replaces that guess whatever its time.)
    :class:`TenantMismatch` when the printer is another tenant's."""
    await guard_tenant(conn, PRINTERS, printer_id, tenant_id)
    row = await conn.fetchrow(
        """
        INSERT INTO printers (printer_id, tenant_id, connection_state, state_since, state_known)
        VALUES ($1, $2, $3, $4, true)
        ON CONFLICT (printer_id) DO UPDATE SET
            connection_state = EXCLUDED.connection_state,
            state_known = true,
            state_since = CASE
                WHEN printers.state_known AND printers.connection_state = EXCLUDED.connection_state
                THEN printers.state_since ELSE EXCLUDED.state_since END
        WHERE NOT printers.state_known OR printers.state_since <= EXCLUDED.state_since
        RETURNING connection_state
        """,
        printer_id, tenant_id, state, at,
    )  # fmt: skip
    return row is not None


async def get_printers(
    conn: asyncpg.Connection, ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, Printer]:
    """The known printers among ``ids``."""
    wanted = [i for i in ids if i is not None]
    rows = await conn.fetch(
        "SELECT printer_id, tenant_id, name, connection_state, state_since, capabilities "
        "FROM printers WHERE printer_id = ANY($1::uuid[])",
        wanted,
    )
    return {
        r["printer_id"]: Printer(
            printer_id=r["printer_id"],
            tenant_id=r["tenant_id"],
            name=r["name"],
            online=r["connection_state"] == "online",
            since=r["state_since"],
            capabilities=Capabilities(**r["capabilities"]) if r["capabilities"] else None,
        )
        for r in rows
    }


# --- virtual printers ---------------------------------------------------------------


async def virtual_printer_name(conn: asyncpg.Connection, vp_id: uuid.UUID) -> str | None:
    """A virtual printer's name, when known."""
    name: str | None = await conn.fetchval(
        "SELECT name FROM virtual_printers WHERE virtual_printer_id = $1", vp_id
    )
    return name


# --- quotas -------------------------------------------------------------------------


async def save_quota(conn: asyncpg.Connection, q: dict[str, Any]) -> None:
    """Keep the latest state of a quota."""
    await conn.execute(
        """
        INSERT INTO quotas (quota_id, tenant_id, subject_kind, subject_id, members, metric, period,
                            period_start, used, quota_limit, policy, exceeded, override_until)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        ON CONFLICT (quota_id) DO UPDATE SET
            subject_kind = EXCLUDED.subject_kind, subject_id = EXCLUDED.subject_id,
            members = EXCLUDED.members, metric = EXCLUDED.metric, period = EXCLUDED.period,
            period_start = EXCLUDED.period_start, used = EXCLUDED.used,
            quota_limit = EXCLUDED.quota_limit, policy = EXCLUDED.policy,
            exceeded = EXCLUDED.exceeded, override_until = EXCLUDED.override_until
        """,
        q["quota_id"], q["tenant_id"], q["subject_kind"], q["subject_id"], q["members"],
        q["metric"], q["period"], q["period_start"], q["used"], q["limit"], q["policy"],
        q["exceeded"], q["override_until"],
    )  # fmt: skip


async def delete_quota(conn: asyncpg.Connection, quota_id: uuid.UUID) -> None:
    """Forget a quota that no longer applies."""
    await conn.execute("DELETE FROM quotas WHERE quota_id = $1", quota_id)


async def quota_tenant(conn: asyncpg.Connection, quota_id: uuid.UUID) -> uuid.UUID | None:
    """The tenant of a known quota."""
    value: uuid.UUID | None = await conn.fetchval(
        "SELECT tenant_id FROM quotas WHERE quota_id = $1", quota_id
    )
    return value


async def quotas_for(conn: asyncpg.Connection, job: Job) -> list[Quota]:
    """The quotas of the job's owner, their groups and their tenant, each with the pages
    of the subject's other jobs queued or printing (not yet counted as used)."""
    rows = await conn.fetch(
        """
        SELECT q.*, COALESCE((
            SELECT sum(j.printed_pages) FROM jobs j
            WHERE j.tenant_id = q.tenant_id AND j.state IN ('queued', 'sent')
              AND j.job_id <> $3 AND (q.metric = 'pages' OR j.colour)
              AND (q.subject_kind = 'tenant'
                   OR q.subject_kind = 'user' AND j.owner_id = q.subject_id
                   OR q.subject_kind = 'group' AND j.owner_id = ANY(q.members))
        ), 0) AS pending
        FROM quotas q
        WHERE q.tenant_id = $1
          AND (q.subject_kind = 'tenant' AND q.subject_id = $1
               OR q.subject_kind = 'user' AND q.subject_id = $2
               OR q.subject_kind = 'group' AND $2 = ANY(q.members))
        """,
        job.tenant_id,
        job.owner_id,
        job.job_id,
    )
    return [
        Quota(
            quota_id=r["quota_id"],
            subject_kind=r["subject_kind"],
            subject_id=r["subject_id"],
            metric=r["metric"],
            period=r["period"],
            used=r["used"],
            limit=r["quota_limit"],
            policy=r["policy"],
            exceeded=r["exceeded"],
            override_until=r["override_until"],
            members=tuple(r["members"]),
            pending=int(r["pending"]),
        )
        for r in rows
    ]


# --- policies -----------------------------------------------------------------------


async def get_policies(
    conn: asyncpg.Connection, ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, asyncpg.Record]:
    """The policies set for the printers among ``ids``."""
    rows = await conn.fetch(
        "SELECT * FROM policies WHERE printer_id = ANY($1::uuid[])",
        [i for i in ids if i is not None],
    )
    return {r["printer_id"]: r for r in rows}


def policy_of(row: asyncpg.Record | None, default_offline_after_s: int) -> Policy:
    """A stored policy, or the default one (hold after the default time)."""
    if row is None:
        return Policy("hold", default_offline_after_s, None, is_default=True)
    return Policy(row["on_offline"], row["offline_after_s"], row["failover_printer_id"])


async def save_policy(
    conn: asyncpg.Connection,
    printer_id: uuid.UUID,
    tenant_id: uuid.UUID,
    policy: Policy,
    by: str,
) -> asyncpg.Record:
    """Set a printer's policy; returns the stored row."""
    row: asyncpg.Record = await conn.fetchrow(
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
    return row


async def delete_policy(conn: asyncpg.Connection, printer_id: uuid.UUID) -> None:
    """Back to the default policy."""
    await conn.execute("DELETE FROM policies WHERE printer_id = $1", printer_id)


# --- jobs ---------------------------------------------------------------------------

_JOB_COLUMNS = (
    "job_id, tenant_id, owner_id, target_printer_id, virtual_printer_id, release, "
    "document_format, printed_pages, colour, settings, state, printer_id, hold_reason, decision"
)


def job_of(row: asyncpg.Record) -> Job:
    """The domain job of a tracked job row."""
    return Job(
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


async def ever_decided(conn: asyncpg.Connection, job_id: uuid.UUID) -> bool:
    """Whether routing already tracks or decided this job."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM jobs WHERE job_id = $1)"
            " OR EXISTS (SELECT 1 FROM decisions WHERE job_id = $1)",
            job_id,
        )
    )


async def insert_job(
    conn: asyncpg.Connection, job: Job, release: str, submitted_at: datetime
) -> asyncpg.Record:
    """Start tracking a submitted job (state pending); returns its row."""
    row: asyncpg.Record = await conn.fetchrow(
        f"""
        INSERT INTO jobs (job_id, tenant_id, owner_id, target_printer_id, virtual_printer_id,
                          release, document_format, printed_pages, colour, settings, state,
                          submitted_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11)
        RETURNING {_JOB_COLUMNS}
        """,
        job.job_id, job.tenant_id, job.owner_id, job.target_printer_id, job.virtual_printer_id,
        release, job.document_format, job.printed_pages, job.colour,
        job.settings.model_dump(mode="json"), submitted_at,
    )  # fmt: skip
    return row


async def lock_jobs(
    conn: asyncpg.Connection, ids: list[uuid.UUID], *, skip_locked: bool = False
) -> list[asyncpg.Record]:
    """Tracked jobs among ``ids``, locked in id order (so two writers never deadlock)."""
    skip = " SKIP LOCKED" if skip_locked else ""
    return list(
        await conn.fetch(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id = ANY($1::uuid[])"
            f" ORDER BY job_id FOR UPDATE{skip}",
            ids,
        )
    )


async def record_decision(
    conn: asyncpg.Connection,
    job: Job,
    number: int,
    decision: Decision,
    at: datetime,
) -> None:
    """Store decision ``number`` and where it puts the job."""
    await conn.execute(
        "INSERT INTO decisions (job_id, decision, tenant_id, action, printer_id, reason,"
        " detail, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        job.job_id, number, job.tenant_id, decision.action, decision.printer_id,
        decision.reason, decision.detail, at,
    )  # fmt: skip
    queued = decision.action == "queue"
    await conn.execute(
        "UPDATE jobs SET decision = $2, state = $3, printer_id = $4, hold_reason = $5,"
        " checked_at = $6 WHERE job_id = $1",
        job.job_id, number, "queued" if queued else "held", decision.printer_id,
        None if queued else decision.reason, at,
    )  # fmt: skip


async def track(
    conn: asyncpg.Connection,
    job_id: uuid.UUID,
    state: str,
    printer_id: uuid.UUID | None,
    hold_reason: str | None = None,
) -> None:
    """Where queues says a job is now."""
    await conn.execute(
        "UPDATE jobs SET state = $2, printer_id = $3, hold_reason = $4 WHERE job_id = $1",
        job_id, state, printer_id, hold_reason,
    )  # fmt: skip


async def hold_reason(conn: asyncpg.Connection, job_id: uuid.UUID) -> str | None:
    """Why a tracked job is held (None when it is not held or not tracked)."""
    value: str | None = await conn.fetchval(
        "SELECT hold_reason FROM jobs WHERE job_id = $1 AND state = 'held'", job_id
    )
    return value


async def forget_job(conn: asyncpg.Connection, job_id: uuid.UUID) -> None:
    """A finished job can no longer move; its decisions stay for support."""
    await conn.execute("DELETE FROM jobs WHERE job_id = $1", job_id)


async def touch(conn: asyncpg.Connection, ids: list[uuid.UUID], at: datetime) -> None:
    """Mark jobs as examined at ``at`` (the sweep takes the least recently examined)."""
    await conn.execute("UPDATE jobs SET checked_at = $2 WHERE job_id = ANY($1::uuid[])", ids, at)


async def affected_by_printer(conn: asyncpg.Connection, printer_id: uuid.UUID) -> list[uuid.UUID]:
    """Jobs a change of this printer's connection may move: held because it (or the
    printer whose alternative it is) was offline, or queued at it or at a printer whose
    alternative it is."""
    rows = await conn.fetch(
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


async def held_for_quota(conn: asyncpg.Connection, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    """A tenant's jobs held because of a quota."""
    rows = await conn.fetch(
        "SELECT job_id FROM jobs WHERE tenant_id = $1 AND state = 'held' AND hold_reason = 'quota'",
        tenant_id,
    )
    return [r["job_id"] for r in rows]


async def sweep_candidates(conn: asyncpg.Connection, limit: int) -> list[asyncpg.Record]:
    """Jobs a sweep re-examines, least recently examined first, locked (rows another
    transaction holds are skipped: that transaction is deciding them)."""
    return list(
        await conn.fetch(
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
    )


async def purge_decisions(conn: asyncpg.Connection, older_than_days: int) -> int:
    """Drop decisions of finished jobs older than the retention; how many went."""
    status = await conn.execute(
        """
        DELETE FROM decisions d
        WHERE d.at < now() - make_interval(days => $1)
          AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.job_id = d.job_id)
        """,
        older_than_days,
    )
    return int(status.split()[-1])


async def decisions_of(conn: asyncpg.Connection, job_id: uuid.UUID) -> list[asyncpg.Record]:
    """A job's decisions, first to last."""
    return list(
        await conn.fetch("SELECT * FROM decisions WHERE job_id = $1 ORDER BY decision", job_id)
    )


async def job_state(conn: asyncpg.Connection, job_id: uuid.UUID) -> asyncpg.Record | None:
    """Where a tracked job is now, as routing knows it."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT state, printer_id, hold_reason FROM jobs WHERE job_id = $1", job_id
    )
    return row
