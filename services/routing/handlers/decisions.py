"""Taking, recording and announcing routing decisions.

Every decision is stored with its number and announced as ``job.routed`` in the same
unit of work, while the job's row is locked, so a job's decisions are numbered
1, 2, 3... and published in that order.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from services.routing.domain.events import JobRouted
from services.routing.domain.model import Decision, Job, Place, Policy, Tracked, decide, redecide
from services.routing.domain.print_policies import Verdict
from services.routing.handlers.print_policies import adjustment_json, judge, refusal_json
from services.routing.repository import RoutingRepository
from services.routing.repository.jobs import PolicyOutcome
from shared.db.uow import Transactions, UnitOfWork
from shared.errors import PermanentEventError
from shared.events.contracts.jobs import JobSubmitted
from shared.logging import get_logger

log = get_logger(__name__)

Work = UnitOfWork[RoutingRepository]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Router:
    """Takes and records routing decisions (printers without a policy of their own are
    held after ``default_offline_after_s`` offline)."""

    default_offline_after_s: int

    async def policy(self, repo: RoutingRepository, printer_id: uuid.UUID) -> Policy:
        """The printer's policy, or the default one."""
        stored = (await repo.get_policies([printer_id])).get(printer_id)
        return stored or Policy.default(self.default_offline_after_s)

    async def place(self, repo: RoutingRepository, printer_id: uuid.UUID | None) -> Place | None:
        """A printer with its policy (or the default) and its policy's alternative."""
        if printer_id is None:
            return None
        policy = await self.policy(repo, printer_id)
        printers = await repo.get_printers([printer_id, policy.failover_printer_id])
        failover = printers.get(policy.failover_printer_id) if policy.failover_printer_id else None
        return Place(printer_id, printers.get(printer_id), policy, failover)

    async def record(
        self, uow: Work, job: Job, number: int, decision: Decision, verdict: Verdict | None = None
    ) -> None:
        """Store decision ``number`` for ``job`` (the first with its policies' ``verdict``)
        and announce it."""
        at = utcnow()
        outcome = None
        if verdict is not None:
            outcome = PolicyOutcome(
                verdict.version,
                [adjustment_json(a) for a in verdict.adjustments],
                refusal_json(verdict.refusal) if verdict.refusal else None,
            )
        await uow.repo.record_decision(job, number, decision, at, outcome)
        routed = JobRouted(
            job_id=job.job_id,
            tenant_id=job.tenant_id,
            decision=number,
            action=decision.action,
            printer_id=decision.printer_id,
            reason=decision.reason,
            detail=decision.detail[:2000],
            at=at,
            policy_version=verdict.version
            if verdict
            else await uow.repo.policy_version_of(job.job_id),
            adjustments=outcome.adjustments if outcome else [],
            refusal=outcome.refusal if outcome else None,
        )
        await uow.emit(routed, tenant_id=job.tenant_id)
        log.info("job routed", job_id=str(job.job_id), decision=number,
                 action=decision.action, reason=decision.reason)  # fmt: skip

    async def submitted(self, uow: Work, data: JobSubmitted) -> None:
        """job.submitted: the first decision (once per job, whatever is redelivered)."""
        repo = uow.repo
        if await repo.ever_decided(data.job_id):
            log.info("job already routed", job_id=str(data.job_id))
            return
        asked = Job(
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
        place = None if asked.pulled else await self.place(repo, asked.target_printer_id)
        if place is not None and place.printer is not None:
            if place.printer.tenant_id != asked.tenant_id:
                raise PermanentEventError(f"printer {place.printer_id} is not in the job's tenant")
        verdict = await judge(repo, asked, data, place)
        if verdict.refusal is not None:
            refused = Decision("refuse", None, "policy", verdict.describe())
            await self.record(uow, asked, 1, refused, verdict)
            return
        job = replace(
            asked,
            settings=verdict.settings,
            colour=verdict.colour,
            printed_pages=verdict.settings.printed_pages(data.pages)
            if verdict.adjustments and data.pages is not None
            else asked.printed_pages,
        )
        await repo.insert_job(job, verdict.release, data.at, verdict.version)
        decision = decide(job, place, await repo.quotas_for(job), utcnow())
        if decision.reason == "pull" and job.virtual_printer_id is not None:
            name = await repo.virtual_printer_name(job.virtual_printer_id)
            where = f"at a printer of '{name}'" if name else "at a member printer"
            said = f"waits for its owner to release it {where}"
            decision = replace(decision, detail="; ".join(p for p in (said, decision.detail) if p))
        if verdict.adjustments:
            said = verdict.describe()
            decision = replace(decision, detail="; ".join(p for p in (decision.detail, said) if p))
        await self.record(uow, job, 1, decision, verdict)

    async def reconsider(self, uow: Work, tracked: list[Tracked]) -> int:
        """Decide locked jobs afresh; returns how many got a new decision."""
        repo = uow.repo
        now = utcnow()
        changed = 0
        for t in tracked:
            job = t.job
            held = t.state == "held"
            target = None if job.pulled else await self.place(repo, job.target_printer_id)
            located = await self.place(repo, t.printer_id) if not held else None
            decision = redecide(
                job,
                state=t.state,
                hold_reason=t.hold_reason,
                target=target,
                located=located,
                quotas=await repo.quotas_for(job) if held else [],
                now=now,
            )
            if decision is not None:
                await self.record(uow, job, t.decision + 1, decision)
                changed += 1
        await repo.touch([t.job.job_id for t in tracked], now)
        return changed

    async def printer_changed(self, uow: Work, printer_id: uuid.UUID) -> None:
        """A printer came or went (or can do more): move the jobs that depend on it."""
        repo = uow.repo
        tracked = await repo.lock_jobs(await repo.affected_by_printer(printer_id))
        await self.reconsider(uow, tracked)

    async def quota_changed(self, uow: Work, tenant_id: uuid.UUID) -> None:
        """A quota changed: release the tenant's jobs it no longer holds."""
        repo = uow.repo
        tracked = await repo.lock_jobs(await repo.held_for_quota(tenant_id))
        await self.reconsider(uow, tracked)

    async def sweep(
        self, tx: Transactions[RoutingRepository], batch_size: int, retention_days: int
    ) -> int:
        """One sweep, by the one replica that gets the sweep lock this round: re-decide
        the least recently examined held and stranded jobs; returns how many moved."""
        async with tx() as uow:
            if not await uow.repo.try_sweep_lock():
                return 0
            tracked = await uow.repo.sweep_candidates(batch_size)
            changed = await self.reconsider(uow, tracked)
            await uow.repo.purge_decisions(retention_days)
        if changed:
            log.info("sweep re-routed jobs", jobs=changed)
        return changed
