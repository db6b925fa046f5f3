"""Routing's repository in memory (:class:`services.routing.repository.RoutingRepository`'s
methods, with its SQL's semantics), for handler unit tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from services.routing.domain.model import (
    Decision,
    Job,
    Policy,
    Printer,
    Quota,
    RecordedDecision,
    Tracked,
    Whereabouts,
)
from services.routing.domain.print_policies import PrintPolicy
from services.routing.repository.jobs import PolicyOutcome
from services.routing.repository.print_policies import StoredGroup
from shared.events.contracts.quotas import QuotaStateChanged
from shared.events.contracts.registry import (
    PrinterCapabilitiesChanged,
    PrinterRegistered,
    PrinterUpdated,
    VirtualPrinterCreated,
    VirtualPrinterUpdated,
)
from shared.readmodels.devices import TenantMismatch


@dataclass
class _Replica:
    printer: Printer
    revision: int = 0
    capabilities_version: int = 0
    state_known: bool = False


@dataclass
class FakeRoutingRepository:
    """Routing's state in dicts."""

    printers: dict[uuid.UUID, _Replica] = field(default_factory=dict)
    virtual_printers: dict[uuid.UUID, VirtualPrinterCreated | VirtualPrinterUpdated] = field(
        default_factory=dict
    )
    quotas: dict[uuid.UUID, QuotaStateChanged] = field(default_factory=dict)
    policies: dict[uuid.UUID, tuple[uuid.UUID, Policy]] = field(default_factory=dict)
    jobs: dict[uuid.UUID, Tracked] = field(default_factory=dict)
    checked_at: dict[uuid.UUID, datetime] = field(default_factory=dict)
    decisions: dict[uuid.UUID, list[RecordedDecision]] = field(default_factory=dict)
    print_policies: dict[uuid.UUID, tuple[int, list[PrintPolicy]]] = field(default_factory=dict)
    """Per tenant: its policy version and policies."""
    groups: dict[uuid.UUID, list[StoredGroup]] = field(default_factory=dict)
    """Per tenant: its groups."""
    sweep_lock_taken: bool = False
    """Another replica holds the sweep lock this round."""

    # --- test set-up ----------------------------------------------------------------

    def add_printer(
        self,
        tenant_id: uuid.UUID,
        *,
        online: bool = True,
        since: datetime | None = None,
        name: str = "printer",
        capabilities: object = None,
    ) -> uuid.UUID:
        """A printer routing knows, online or offline since ``since``."""
        pid = uuid.uuid4()
        printer = Printer(pid, tenant_id, name, online, since or datetime.now(UTC), capabilities)  # type: ignore[arg-type]
        self.printers[pid] = _Replica(printer, revision=1, state_known=True)
        return pid

    # --- printers -------------------------------------------------------------------

    def _guard(self, printer_id: uuid.UUID, tenant_id: uuid.UUID) -> None:
        known = self.printers.get(printer_id)
        if known is not None and known.printer.tenant_id != tenant_id:
            raise TenantMismatch("printer", printer_id)

    async def describe_printer(
        self, data: PrinterRegistered | PrinterUpdated, occurred_at: datetime
    ) -> bool:
        self._guard(data.printer_id, data.tenant_id)
        known = self.printers.get(data.printer_id)
        if known is None:
            printer = Printer(data.printer_id, data.tenant_id, data.name, False, occurred_at, None)
            self.printers[data.printer_id] = _Replica(printer, revision=data.revision)
            return True
        if known.revision >= data.revision:
            return False
        known.printer = replace(known.printer, name=data.name)
        known.revision = data.revision
        return True

    async def save_capabilities(self, data: PrinterCapabilitiesChanged) -> bool:
        self._guard(data.printer_id, data.tenant_id)
        known = self.printers.get(data.printer_id)
        if known is None:
            printer = Printer(data.printer_id, data.tenant_id, None, False, None, None)
            known = self.printers[data.printer_id] = _Replica(printer)
        if known.capabilities_version >= data.version:
            return False
        known.printer = replace(known.printer, capabilities=data.capabilities)
        known.capabilities_version = data.version
        return True

    async def save_connection(
        self, printer_id: uuid.UUID, tenant_id: uuid.UUID, state: str, at: datetime
    ) -> bool:
        self._guard(printer_id, tenant_id)
        online = state == "online"
        known = self.printers.get(printer_id)
        if known is None:
            printer = Printer(printer_id, tenant_id, None, online, at, None)
            self.printers[printer_id] = _Replica(printer, state_known=True)
            return True
        p = known.printer
        if known.state_known and p.since is not None and p.since > at:
            return False
        since = p.since if known.state_known and p.online == online else at
        known.printer = replace(p, online=online, since=since)
        known.state_known = True
        return True

    async def get_printers(self, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Printer]:
        return {i: self.printers[i].printer for i in ids if i is not None and i in self.printers}

    # --- virtual printers -----------------------------------------------------------

    async def describe_virtual_printer(
        self, data: VirtualPrinterCreated | VirtualPrinterUpdated
    ) -> bool:
        known = self.virtual_printers.get(data.virtual_printer_id)
        if known is not None and known.tenant_id != data.tenant_id:
            raise TenantMismatch("virtual printer", data.virtual_printer_id)
        if known is not None and known.revision >= data.revision:
            return False
        self.virtual_printers[data.virtual_printer_id] = data
        return True

    async def virtual_printer_name(self, vp_id: uuid.UUID) -> str | None:
        known = self.virtual_printers.get(vp_id)
        return known.name if known else None

    # --- quotas ---------------------------------------------------------------------

    async def save_quota(self, q: QuotaStateChanged) -> None:
        self.quotas[q.quota_id] = q

    async def delete_quota(self, quota_id: uuid.UUID) -> None:
        self.quotas.pop(quota_id, None)

    async def quota_tenant(self, quota_id: uuid.UUID) -> uuid.UUID | None:
        known = self.quotas.get(quota_id)
        return known.tenant_id if known else None

    def _subject_of(self, q: QuotaStateChanged, owner_id: uuid.UUID) -> bool:
        if q.subject_kind == "tenant":
            return True
        if q.subject_kind == "user":
            return owner_id == q.subject_id
        return owner_id in q.members

    async def quotas_for(self, job: Job) -> list[Quota]:
        found = []
        for q in self.quotas.values():
            if q.tenant_id != job.tenant_id:
                continue
            if q.subject_kind == "tenant" and q.subject_id != job.tenant_id:
                continue
            if not self._subject_of(q, job.owner_id):
                continue
            pending = sum(
                t.job.printed_pages or 0
                for t in self.jobs.values()
                if t.job.tenant_id == q.tenant_id
                and t.state in ("queued", "sent")
                and t.job.job_id != job.job_id
                and (q.metric == "pages" or t.job.colour)
                and self._subject_of(q, t.job.owner_id)
            )
            found.append(
                Quota(
                    quota_id=q.quota_id,
                    subject_kind=q.subject_kind,
                    subject_id=q.subject_id,
                    metric=q.metric,
                    period=q.period,
                    used=q.used,
                    limit=q.limit,
                    policy=q.policy,
                    exceeded=q.exceeded,
                    override_until=q.override_until,
                    members=tuple(q.members),
                    pending=pending,
                )
            )
        return found

    # --- policies -------------------------------------------------------------------

    async def get_policies(self, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Policy]:
        return {i: self.policies[i][1] for i in ids if i is not None and i in self.policies}

    async def save_policy(
        self, printer_id: uuid.UUID, tenant_id: uuid.UUID, policy: Policy, by: str
    ) -> Policy:
        stored = replace(policy, updated_at=datetime.now(UTC), updated_by=by)
        self.policies[printer_id] = (tenant_id, stored)
        return stored

    async def delete_policy(self, printer_id: uuid.UUID) -> None:
        self.policies.pop(printer_id, None)

    # --- jobs -----------------------------------------------------------------------

    async def ever_decided(self, job_id: uuid.UUID) -> bool:
        return job_id in self.jobs or job_id in self.decisions

    # --- print policies and groups -------------------------------------------------

    async def policy_state(self, tenant_id: uuid.UUID) -> tuple[int, list[PrintPolicy]]:
        return self.print_policies.get(tenant_id, (0, []))

    async def tenant_groups(self, tenant_id: uuid.UUID) -> list[StoredGroup]:
        return self.groups.get(tenant_id, [])

    async def virtual_printer_members(self, vp_id: uuid.UUID) -> list[uuid.UUID]:
        known = self.virtual_printers.get(vp_id)
        return list(known.members) if known else []

    async def policy_version_of(self, job_id: uuid.UUID) -> int | None:
        first = [d for d in self.decisions.get(job_id, []) if d.decision == 1]
        return first[0].policy_version if first else None

    async def insert_job(
        self, job: Job, release: str, submitted_at: datetime, policy_version: int | None = None
    ) -> None:
        assert job.job_id not in self.jobs, "jobs.job_id is the primary key"
        self.jobs[job.job_id] = Tracked(job, "pending", None, None, 0)
        self.checked_at[job.job_id] = datetime.now(UTC)

    async def lock_jobs(self, ids: list[uuid.UUID], *, skip_locked: bool = False) -> list[Tracked]:
        return [self.jobs[i] for i in sorted(ids) if i in self.jobs]

    async def record_decision(
        self,
        job: Job,
        number: int,
        decision: Decision,
        at: datetime,
        policy: PolicyOutcome | None = None,
    ) -> None:
        made = self.decisions.setdefault(job.job_id, [])
        assert all(d.decision != number for d in made), "(job_id, decision) is the primary key"
        made.append(
            RecordedDecision(
                job.job_id,
                job.tenant_id,
                number,
                decision.action,
                decision.printer_id,
                decision.reason,
                decision.detail,
                at,
                policy.version if policy else None,
                policy.adjustments if policy else [],
                policy.refusal if policy else None,
            )
        )
        if decision.action == "refuse":
            return
        queued = decision.action == "queue"
        self.jobs[job.job_id] = replace(
            self.jobs[job.job_id],
            decision=number,
            state="queued" if queued else "held",
            printer_id=decision.printer_id,
            hold_reason=None if queued else decision.reason,
        )
        self.checked_at[job.job_id] = at

    async def track(
        self,
        job_id: uuid.UUID,
        state: str,
        printer_id: uuid.UUID | None,
        hold_reason: str | None = None,
    ) -> None:
        if job_id in self.jobs:
            self.jobs[job_id] = replace(
                self.jobs[job_id], state=state, printer_id=printer_id, hold_reason=hold_reason
            )  # type: ignore[arg-type]

    async def hold_reason(self, job_id: uuid.UUID) -> str | None:
        t = self.jobs.get(job_id)
        return t.hold_reason if t is not None and t.state == "held" else None

    async def forget_job(self, job_id: uuid.UUID) -> None:
        self.jobs.pop(job_id, None)
        self.checked_at.pop(job_id, None)

    async def touch(self, ids: list[uuid.UUID], at: datetime) -> None:
        for i in ids:
            if i in self.jobs:
                self.checked_at[i] = at

    def _served_by(self, printer_id: uuid.UUID) -> set[uuid.UUID]:
        return {p for p, (_, pol) in self.policies.items() if pol.failover_printer_id == printer_id}

    async def affected_by_printer(self, printer_id: uuid.UUID) -> list[uuid.UUID]:
        around = {printer_id} | self._served_by(printer_id)
        return [
            t.job.job_id
            for t in self.jobs.values()
            if (
                t.state == "held"
                and t.hold_reason == "printer_offline"
                and t.job.target_printer_id in around
            )
            or (t.state == "queued" and t.printer_id in around)
        ]

    async def held_for_quota(self, tenant_id: uuid.UUID) -> list[uuid.UUID]:
        return [
            t.job.job_id
            for t in self.jobs.values()
            if t.job.tenant_id == tenant_id and t.state == "held" and t.hold_reason == "quota"
        ]

    async def try_sweep_lock(self) -> bool:
        return not self.sweep_lock_taken

    async def sweep_candidates(self, limit: int) -> list[Tracked]:
        offline = {p for p, r in self.printers.items() if not r.printer.online}
        due = [
            t
            for t in self.jobs.values()
            if (t.state == "held" and t.hold_reason in ("printer_offline", "quota"))
            or (
                t.state == "queued" and t.job.virtual_printer_id is None and t.printer_id in offline
            )
        ]
        due.sort(key=lambda t: self.checked_at[t.job.job_id])
        return due[:limit]

    async def purge_decisions(self, older_than_days: int) -> int:
        cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
        gone = 0
        for job_id, made in list(self.decisions.items()):
            if job_id in self.jobs:
                continue
            kept = [d for d in made if d.at >= cutoff]
            gone += len(made) - len(kept)
            if kept:
                self.decisions[job_id] = kept
            else:
                del self.decisions[job_id]
        return gone

    async def decisions_of(self, job_id: uuid.UUID) -> list[RecordedDecision]:
        return sorted(self.decisions.get(job_id, []), key=lambda d: d.decision)

    async def whereabouts(self, job_id: uuid.UUID) -> Whereabouts | None:
        t = self.jobs.get(job_id)
        return Whereabouts(t.state, t.printer_id, t.hold_reason) if t else None
