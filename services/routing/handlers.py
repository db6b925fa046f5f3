"""Load, decide, save and emit: each in the caller's transaction.

Every decision is stored with its number and announced as ``job.routed`` through
the outbox in the same transaction, while the job's row is locked, so a job's
decisions are numbered 1, 2, 3... and published in that order.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.routing import repository as repo
from services.routing.domain.commands import SetRoutingPolicy
from services.routing.domain.errors import PrinterNotFound
from services.routing.domain.model import (
    Decision,
    Job,
    Place,
    Policy,
    Printer,
    decide,
    redecide,
)
from shared.db.outbox import Emitter
from shared.errors import FieldError, PermanentEventError, ValidationFailed
from shared.events.contracts.jobs import JobRouted, JobSubmitted
from shared.events.registry import DecodedEvent
from shared.http.auth import Principal
from shared.logging import get_logger

log = get_logger(__name__)

_SWEEP_DIGEST = hashlib.sha256(b"printcloud.routing.sweep").digest()
SWEEP_LOCK = int.from_bytes(_SWEEP_DIGEST[:8], "big", signed=True)
"""The advisory lock that elects the one replica sweeping in a round."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Router:
    """Takes and records routing decisions; ``out`` announces them."""

    out: Emitter
    default_offline_after_s: int

    async def place(self, conn: asyncpg.Connection, printer_id: uuid.UUID | None) -> Place | None:
        """A printer with its policy (or the default) and its policy's alternative."""
        if printer_id is None:
            return None
        row = (await repo.get_policies(conn, [printer_id])).get(printer_id)
        policy = repo.policy_of(row, self.default_offline_after_s)
        printers = await repo.get_printers(conn, [printer_id, policy.failover_printer_id])
        failover = printers.get(policy.failover_printer_id) if policy.failover_printer_id else None
        return Place(printer_id, printers.get(printer_id), policy, failover)

    async def record(
        self, conn: asyncpg.Connection, out: Emitter, job: Job, number: int, decision: Decision
    ) -> None:
        """Store decision ``number`` for ``job`` and announce it."""
        at = utcnow()
        await repo.record_decision(conn, job, number, decision, at)
        routed = JobRouted(
            job_id=job.job_id,
            tenant_id=job.tenant_id,
            decision=number,
            action=decision.action,
            printer_id=decision.printer_id,
            reason=decision.reason,
            detail=decision.detail[:2000],
            at=at,
        )
        await out.emit(conn, routed, tenant_id=job.tenant_id)
        log.info("job routed", job_id=str(job.job_id), decision=number,
                 action=decision.action, reason=decision.reason)  # fmt: skip

    async def submitted(self, conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
        """job.submitted: the first decision (once per job, whatever is redelivered)."""
        data: JobSubmitted = event.data
        if await repo.ever_decided(conn, data.job_id):
            log.info("job already routed", job_id=str(data.job_id))
            return
        job = Job(
            job_id=data.job_id,
            tenant_id=data.tenant_id,
            owner_id=data.owner_id,
            target_printer_id=data.printer_id,
            virtual_printer_id=data.virtual_printer_id,
            document_format=data.document_format,
            printed_pages=data.printed_pages,
            colour=data.colour or data.settings.colour,
            settings=data.settings,
            pull=data.release == "pull" or data.hold_until_release,
        )
        place = None if job.pulled else await self.place(conn, job.target_printer_id)
        if place is not None and place.printer is not None:
            if place.printer.tenant_id != job.tenant_id:
                raise PermanentEventError(f"printer {place.printer_id} is not in the job's tenant")
        await repo.insert_job(conn, job, data.release, data.at)
        decision = decide(job, place, await repo.quotas_for(conn, job), utcnow())
        if decision.reason == "pull" and job.virtual_printer_id is not None:
            name = await repo.virtual_printer_name(conn, job.virtual_printer_id)
            where = f"at a printer of '{name}'" if name else "at a member printer"
            said = f"waits for its owner to release it {where}"
            decision = replace(decision, detail="; ".join(p for p in (said, decision.detail) if p))
        await self.record(conn, self.out.caused_by(event.envelope), job, 1, decision)

    async def reconsider(
        self, conn: asyncpg.Connection, out: Emitter, rows: list[asyncpg.Record]
    ) -> int:
        """Decide locked jobs afresh; returns how many got a new decision."""
        now = utcnow()
        changed = 0
        for row in rows:
            job = repo.job_of(row)
            held = row["state"] == "held"
            target = None if job.pulled else await self.place(conn, job.target_printer_id)
            located = await self.place(conn, row["printer_id"]) if not held else None
            decision = redecide(
                job,
                state=row["state"],
                hold_reason=row["hold_reason"],
                target=target,
                located=located,
                quotas=await repo.quotas_for(conn, job) if held else [],
                now=now,
            )
            if decision is not None:
                await self.record(conn, out, job, row["decision"] + 1, decision)
                changed += 1
        await repo.touch(conn, [r["job_id"] for r in rows], now)
        return changed

    async def printer_changed(
        self, conn: asyncpg.Connection, event: DecodedEvent[Any], printer_id: uuid.UUID
    ) -> None:
        """A printer came or went (or can do more): move the jobs that depend on it."""
        rows = await repo.lock_jobs(conn, await repo.affected_by_printer(conn, printer_id))
        await self.reconsider(conn, self.out.caused_by(event.envelope), rows)

    async def quota_changed(
        self, conn: asyncpg.Connection, event: DecodedEvent[Any], tenant_id: uuid.UUID
    ) -> None:
        """A quota changed: release the tenant's jobs it no longer holds."""
        rows = await repo.lock_jobs(conn, await repo.held_for_quota(conn, tenant_id))
        await self.reconsider(conn, self.out.caused_by(event.envelope), rows)

    async def sweep(self, pool: asyncpg.Pool, batch_size: int, retention_days: int) -> int:
        """One sweep, by the one replica that gets the sweep lock this round: re-decide
        the least recently examined held and stranded jobs; returns how many moved."""
        async with pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", SWEEP_LOCK):
                return 0
            rows = await repo.sweep_candidates(conn, batch_size)
            changed = await self.reconsider(conn, self.out, rows)
            await repo.purge_decisions(conn, retention_days)
        if changed:
            log.info("sweep re-routed jobs", jobs=changed)
        return changed


async def track_lifecycle(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
    """Follow where queues put a job; forget a job that finished.

    Queues' events that apply routing's own decisions change nothing here (routing
    recorded them when it decided, and a late one must not undo a newer decision);
    what people do (release a pull job, hold one) and what printers do is recorded.
    """
    data = event.data
    job_id = data.job_id
    match event.envelope.type:
        case "job.queued":
            if data.reason in ("released", "reservation") or (
                await repo.hold_reason(conn, job_id) == "requested"
            ):
                await repo.track(conn, job_id, "queued", data.printer_id)
        case "job.moved":
            if data.reason == "released":
                await repo.track(conn, job_id, "queued", data.to_printer_id)
        case "job.held":
            if data.reason == "requested":
                await repo.track(conn, job_id, "held", None, "requested")
        case "job.sent" | "job.printing":
            await repo.track(conn, job_id, "sent", data.printer_id)
        case "job.completed" | "job.failed" | "job.canceled" | "job.expired":
            await repo.forget_job(conn, job_id)


async def set_policy(
    pool: asyncpg.Pool, printer_id: uuid.UUID, cmd: SetRoutingPolicy, who: Principal
) -> asyncpg.Record:
    """Set a printer's offline policy; the failover printer must be another printer of
    the same tenant."""
    async with pool.acquire() as conn, conn.transaction():
        printer = await visible_printer(conn, printer_id, who)
        alt_id = cmd.failover_printer_id
        errors: list[FieldError] = []
        if cmd.on_offline == "failover" and alt_id is None:
            errors.append(FieldError("failover_printer_id", "required when on_offline is failover"))
        if cmd.on_offline == "hold" and alt_id is not None:
            errors.append(FieldError("failover_printer_id", "only with on_offline failover"))
        elif alt_id == printer_id:
            errors.append(FieldError("failover_printer_id", "must be another printer"))
        elif alt_id is not None:
            alt = (await repo.get_printers(conn, [alt_id])).get(alt_id)
            if alt is None or alt.tenant_id != printer.tenant_id:
                errors.append(FieldError("failover_printer_id", "no such printer in this tenant"))
        if errors:
            raise ValidationFailed("the routing policy is not valid", errors)
        policy = Policy(cmd.on_offline, cmd.offline_after_s, alt_id)
        return await repo.save_policy(conn, printer_id, printer.tenant_id, policy, who.subject)


async def visible_printer(
    conn: asyncpg.Connection, printer_id: uuid.UUID, who: Principal
) -> Printer:
    """A printer the caller may see; the same 404 for a missing and a foreign one."""
    printer = (await repo.get_printers(conn, [printer_id])).get(printer_id)
    if printer is None or not who.can_access(printer.tenant_id):
        raise PrinterNotFound("no such printer")
    return printer
