"""Where and when a job goes: the routing rules, as pure functions of values.

The first decision for a job (:func:`decide`) looks at its target, the target's
offline policy and the quotas that apply to its owner. A later look
(:func:`redecide`) changes a decision only when something it depended on has
changed: a held printer came back, a quota eased, or a queued job's printer
stayed offline past its policy's limit while a capable alternative is online.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings, check

Action = Literal["queue", "hold", "refuse"]
Reason = Literal[
    "direct", "pull", "failover", "printer_offline", "quota", "quota_warning",
    "quota_override", "printer_online", "policy",
]  # fmt: skip
OnOffline = Literal["failover", "hold"]
REDECIDED_HOLDS = frozenset({"printer_offline", "quota"})
"""Holds that routing lifts by itself; pull and requested holds wait for a person."""


@dataclass(frozen=True)
class Policy:
    """What to do with a printer's jobs when it has been offline for too long (and, for
    a stored one, who set it when)."""

    on_offline: OnOffline
    offline_after_s: int
    failover_printer_id: uuid.UUID | None = None
    is_default: bool = False
    updated_at: datetime | None = None
    updated_by: str | None = None

    @classmethod
    def default(cls, offline_after_s: int) -> Policy:
        """The policy of a printer that has none set: hold after ``offline_after_s``."""
        return cls("hold", offline_after_s, None, is_default=True)


@dataclass(frozen=True)
class Printer:
    """Routing's view of a printer: who owns it, whether it is online since when, and
    what it can print."""

    printer_id: uuid.UUID
    tenant_id: uuid.UUID
    name: str | None
    online: bool
    since: datetime | None
    capabilities: Capabilities | None

    def label(self) -> str:
        return f"'{self.name}' ({self.printer_id})" if self.name else str(self.printer_id)


@dataclass(frozen=True)
class Quota:
    """One quota's state for its current period; ``pending`` counts the pages of this
    subject's jobs already queued or printing but not yet counted in ``used``."""

    quota_id: uuid.UUID
    subject_kind: Literal["user", "group", "tenant"]
    subject_id: uuid.UUID
    metric: Literal["pages", "colour_pages"]
    period: Literal["day", "week", "month", "year"]
    used: int
    limit: int
    policy: Literal["hold", "warn"]
    exceeded: bool
    override_until: datetime | None = None
    members: tuple[uuid.UUID, ...] = ()
    pending: int = 0

    def applies_to(self, job: Job) -> bool:
        """Whether the job's owner falls under this quota and the job uses its metric."""
        if self.metric == "colour_pages" and not job.colour:
            return False
        if self.subject_kind == "user":
            return self.subject_id == job.owner_id
        if self.subject_kind == "group":
            return job.owner_id in self.members
        return self.subject_id == job.tenant_id

    def breach(self, job: Job, now: datetime) -> str | None:
        """Why this job may not print under this quota; None when it may."""
        if self.override_until is not None and self.override_until > now:
            return None
        need = job.printed_pages
        counted = self.used + self.pending
        whose = {"user": "the", "group": "the group's", "tenant": "the organisation's"}
        period = {"day": "daily", "week": "weekly", "month": "monthly", "year": "yearly"}
        unit = "pages" if self.metric == "pages" else "colour pages"
        quota = f"{whose[self.subject_kind]} {period[self.period]} quota of {self.limit} {unit}"
        usage = f"{self.used} used"
        if self.pending:
            usage += f", {self.pending} more in jobs not yet printed"
        if self.exceeded or counted > self.limit:
            return f"over {quota}: {usage}"
        if need is None or need < 1:
            # A job whose pages are not known cannot be shown to fit: it never slips through.
            return f"this job's {unit} are not known, so it cannot be counted against {quota}"
        if counted + need > self.limit:
            return f"this job's {need} {unit} would exceed {quota}: {usage}"
        return None


@dataclass(frozen=True)
class Job:
    """What routing needs to know about a submitted job."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    owner_id: uuid.UUID
    target_printer_id: uuid.UUID | None
    virtual_printer_id: uuid.UUID | None
    document_format: str
    printed_pages: int | None
    colour: bool
    settings: JobSettings
    pull: bool = False

    @property
    def pulled(self) -> bool:
        """Pull print: held until its owner releases it at a printer."""
        return self.pull or self.virtual_printer_id is not None or self.target_printer_id is None


JobState = Literal["pending", "queued", "held", "sent"]


@dataclass(frozen=True)
class Tracked:
    """A job routing still tracks: where it is now and its last decision's number."""

    job: Job
    state: JobState
    printer_id: uuid.UUID | None
    hold_reason: str | None
    decision: int


@dataclass(frozen=True)
class Whereabouts:
    """Where routing last knew a tracked job to be."""

    state: JobState
    printer_id: uuid.UUID | None
    hold_reason: str | None


@dataclass(frozen=True)
class RecordedDecision:
    """A decision routing took and stored (kept after the job finished)."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    decision: int
    action: Action
    printer_id: uuid.UUID | None
    reason: Reason
    detail: str
    at: datetime
    policy_version: int | None = None
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    refusal: dict[str, Any] | None = None


@dataclass(frozen=True)
class Place:
    """A printer a job is (or would be) queued at, its policy and its alternative."""

    printer_id: uuid.UUID
    printer: Printer | None
    policy: Policy
    failover: Printer | None


@dataclass(frozen=True)
class Decision:
    """Queue the job at ``printer_id`` now, or hold it; ``detail`` is for people."""

    action: Action
    printer_id: uuid.UUID | None
    reason: Reason
    detail: str = ""


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def offline_too_long(printer: Printer | None, policy: Policy, now: datetime) -> bool:
    """Whether ``printer`` has been offline longer than its policy tolerates.

    A printer routing has not heard of yet (its registration is still on its way),
    or whose offline time is unknown, gets the benefit of the doubt.
    """
    if printer is None or printer.online or printer.since is None:
        return False
    return now - printer.since >= timedelta(seconds=policy.offline_after_s)


def failover_problem(job: Job, place: Place) -> str | None:
    """Why the policy's alternative cannot take the job; None when it can."""
    alt = place.failover
    if place.policy.failover_printer_id is None:
        return "no failover printer is set"
    if alt is None or alt.tenant_id != job.tenant_id:
        return f"the failover printer {place.policy.failover_printer_id} is unknown"
    if alt.printer_id == place.printer_id:
        return "the failover printer is the printer itself"
    if not alt.online:
        return f"the failover printer {alt.label()} is offline too"
    if alt.capabilities is None:
        return f"the failover printer {alt.label()} has not reported its capabilities"
    problems = check(job.settings, alt.capabilities, job.document_format)
    if problems:
        said = ", ".join(f"{p.setting} {p.value} ({p.reason})" for p in problems)
        return f"the failover printer {alt.label()} cannot print this job: {said}"
    return None


def printer_rule(job: Job, place: Place, now: datetime) -> Decision:
    """Queue at the place's printer, at its alternative, or hold: the offline policy."""
    printer = place.printer
    if printer is None or not offline_too_long(printer, place.policy, now):
        return Decision("queue", place.printer_id, "direct")
    assert printer.since is not None
    offline = f"printer {printer.label()} offline since {printer.since.isoformat()}"
    if place.policy.on_offline == "hold":
        return Decision("hold", None, "printer_offline", f"{offline}; held until it is back")
    problem = failover_problem(job, place)
    if problem is not None:
        return Decision("hold", None, "printer_offline", f"{offline}; {problem}")
    assert place.failover is not None
    return Decision(
        "queue",
        place.failover.printer_id,
        "failover",
        f"{offline}; sent to the failover printer {place.failover.label()} instead",
    )


def quota_verdict(job: Job, quotas: list[Quota], now: datetime) -> tuple[str, str]:
    """The readable breaches of quotas that hold the job, and of those that only warn."""
    holds: list[str] = []
    warnings: list[str] = []
    order = {"user": 0, "group": 1, "tenant": 2}
    for quota in sorted(quotas, key=lambda q: (order[q.subject_kind], str(q.quota_id))):
        if not quota.applies_to(job):
            continue
        breach = quota.breach(job, now)
        if breach is not None:
            (holds if quota.policy == "hold" else warnings).append(breach)
    return _join(*holds), _join(*warnings)


def decide(job: Job, place: Place | None, quotas: list[Quota], now: datetime) -> Decision:
    """The decision for a job as things stand ``now``.

    ``place`` is the job's target printer (None for pull print). The offline policy
    comes first: a job that cannot be queued is held for that reason and its quotas
    are looked at when it can be. A job over a quota with policy ``hold`` is held;
    over one with ``warn`` it is queued and the decision says so.
    """
    if job.pulled or place is None:
        holds, warnings = quota_verdict(job, quotas, now)
        if holds:
            return Decision("hold", None, "quota", holds)
        return Decision("hold", None, "pull", warnings)
    decision = printer_rule(job, place, now)
    if decision.action == "hold":
        return decision
    holds, warnings = quota_verdict(job, quotas, now)
    if holds:
        return Decision("hold", None, "quota", holds)
    if warnings and decision.reason == "direct":
        return replace(decision, reason="quota_warning", detail=warnings)
    return replace(decision, detail=_join(decision.detail, warnings))


def redecide(
    job: Job,
    *,
    state: str,
    hold_reason: str | None,
    target: Place | None,
    located: Place | None,
    quotas: list[Quota],
    now: datetime,
) -> Decision | None:
    """A new decision for a job already decided, or None when the last one stands.

    A job held because its printer was offline or because of a quota is decided
    afresh; it moves only when the outcome differs (queued, or held for another
    reason). A job queued (and not yet sent) at ``located`` fails over when that
    printer has been offline past its policy's limit and the alternative can take
    it; otherwise it stays where it is, since a queue waits for its printer anyway.
    """
    if state == "held" and hold_reason in REDECIDED_HOLDS:
        fresh = decide(job, target, quotas, now)
        if fresh.action == "hold":
            return None if fresh.reason == hold_reason else fresh
        if hold_reason == "quota":
            return replace(fresh, reason="quota_override", detail=_join(
                "the quota allows this job now", fresh.detail))  # fmt: skip
        if fresh.reason in ("direct", "quota_warning"):
            printer = target.printer if target is not None else None
            back = f"printer {printer.label() if printer else fresh.printer_id} is back online"
            return replace(fresh, reason="printer_online", detail=_join(back, fresh.detail))
        return fresh
    if state == "queued" and not job.pulled and located is not None:
        moved = printer_rule(job, located, now)
        return moved if moved.reason == "failover" else None
    return None
