"""Print policies: rules a tenant sets for its jobs, per tenant, group or printer.

A policy either *adjusts* a job (forces duplex or monochrome, lowers the copies,
makes a colour job wait for its owner at the printer) or *refuses* it (too many
pages, outside the allowed hours, a document type not allowed). Every job is
evaluated once, at its first decision, against the policies of its tenant as they
stand then (the tenant's policy *version*); what changed and which policy changed it,
or which policy refused it, is recorded with the job.

Precedence, rule by rule: a rule set by a policy of the job's printer beats the same
rule set at a group of its owner, which beats the tenant's; among policies of one
level the strictest value wins; a refusal beats every adjustment (a refused job is
not adjusted). :func:`evaluate` is pure: policies, job and time in, verdict out.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings

Scope = Literal["printer", "group", "tenant"]
LEVELS: tuple[Scope, ...] = ("printer", "group", "tenant")
"""Most specific first: the first level that sets a rule decides it."""
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RuleName = Literal[
    "document_formats", "allowed_hours", "max_copies", "max_pages", "force_monochrome",
    "force_duplex", "colour_release_at_printer",
]  # fmt: skip
Setting = Literal["copies", "sides", "print_color_mode", "release"]
DUPLEX = "two-sided-long-edge"
MONOCHROME = "monochrome"
_MIME = r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$"


class AllowedHours(BaseModel):
    """When jobs may be submitted: on ``days``, from ``start`` to ``end`` (local time in
    ``timezone``; an ``end`` before ``start`` runs past midnight into the next day)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field(description="An IANA time zone, e.g. Europe/Paris.", max_length=64)
    days: list[Day] = Field(default=list(DAYS), min_length=1, max_length=7)
    start: time = Field(description="Local time the window opens (HH:MM).")
    end: time = Field(description="Local time the window closes (HH:MM), exclusive.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("days")
    @classmethod
    def _once_each(cls, value: list[Day]) -> list[Day]:
        if len(set(value)) != len(value):
            raise ValueError("a day is named twice")
        return value

    @field_validator("start", "end")
    @classmethod
    def _local(cls, value: time, info: ValidationInfo) -> time:
        if value.tzinfo is not None:
            raise ValueError("a local time without offset (the time zone is given apart)")
        if info.field_name == "end" and info.data.get("start") == value:
            raise ValueError("equal to start: the window would be empty")
        return value

    def admits(self, at: datetime) -> bool:
        """Whether ``at`` (aware) falls inside the window."""
        local = at.astimezone(ZoneInfo(self.timezone))
        now = local.time().replace(tzinfo=None)
        today = DAYS[local.weekday()]
        if self.start < self.end:
            return today in self.days and self.start <= now < self.end
        yesterday = DAYS[(local.weekday() - 1) % 7]
        return (today in self.days and now >= self.start) or (
            yesterday in self.days and now < self.end
        )

    def describe(self) -> str:
        days = ", ".join(self.days) if len(self.days) < 7 else "every day"
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M} ({self.timezone})"


class Rules(BaseModel):
    """What a policy says; a rule left out (null) is not said here, and a policy of a
    less specific level may say it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    force_duplex: bool | None = Field(
        default=None, description="true: one-sided jobs print two-sided (long edge)."
    )
    force_monochrome: bool | None = Field(
        default=None,
        description="true: jobs print in monochrome; false (e.g. on a group) lets colour "
        "through where a less specific policy forces monochrome.",
    )
    max_copies: int | None = Field(
        default=None, ge=1, le=1_000_000, description="More copies are lowered to this."
    )
    max_pages: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="A job printing more pages (selected pages x copies) is refused.",
    )
    allowed_hours: AllowedHours | None = Field(
        default=None, description="A job submitted outside this window is refused."
    )
    colour_release_at_printer: bool | None = Field(
        default=None,
        description="true: a colour job waits for its owner to log in at the printer "
        "(secure release).",
    )
    document_formats: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="The only document types (MIME) allowed; others are refused.",
    )

    @field_validator("document_formats")
    @classmethod
    def _mime_types(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            if not re.fullmatch(_MIME, item):
                raise ValueError(f"{item!r} is not a MIME type")
        return value

    @model_validator(mode="after")
    def _says_something(self) -> Rules:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError("set at least one rule")
        return self


@dataclass(frozen=True)
class PrintPolicy:
    """A stored policy: what it says, where it applies, and its revision."""

    policy_id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    scope: Scope
    subject_id: uuid.UUID | None
    """The group or printer (None for the tenant)."""
    rules: Rules
    revision: int
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True)
class Adjustment:
    """One setting a policy changed: ``before`` (None: the printer's default) -> ``after``."""

    policy_id: uuid.UUID
    policy_name: str
    policy_revision: int
    rule: RuleName
    setting: Setting
    before: str | int | None
    after: str | int

    def describe(self) -> str:
        before = "printer default" if self.before is None else self.before
        return f"policy '{self.policy_name}' set {self.setting} {before} -> {self.after}"


@dataclass(frozen=True)
class Refusal:
    """The policy that refused a job, and why."""

    policy_id: uuid.UUID
    policy_name: str
    policy_revision: int
    rule: RuleName
    reason: str

    def describe(self) -> str:
        return f"refused by policy '{self.policy_name}': {self.reason}"


@dataclass(frozen=True)
class Candidate:
    """A job as the policies see it, before any adjustment."""

    settings: JobSettings
    release: str
    document_format: str
    pages: int | None
    colour: bool
    submitted_at: datetime
    pull: bool
    capabilities: Capabilities | None
    """The target printer's, when it has one and reported them."""


@dataclass(frozen=True)
class Verdict:
    """The outcome: the job's (adjusted) settings and release, or its refusal."""

    version: int
    settings: JobSettings
    release: str
    colour: bool
    adjustments: tuple[Adjustment, ...] = ()
    refusal: Refusal | None = None

    def describe(self) -> str:
        if self.refusal is not None:
            return self.refusal.describe()
        return "; ".join(a.describe() for a in self.adjustments)


def deciding(policies: Sequence[PrintPolicy], rule: RuleName) -> list[PrintPolicy]:
    """The policies that decide ``rule``: those of the most specific level that sets it."""
    for level in LEVELS:
        found = [p for p in policies if p.scope == level and getattr(p.rules, rule) is not None]
        if found:
            return sorted(found, key=lambda p: (p.name, str(p.policy_id)))
    return []


def _strictest(
    policies: list[PrintPolicy], rule: RuleName, key: Callable[[Any], Any]
) -> PrintPolicy | None:
    if not policies:
        return None
    return min(policies, key=lambda p: key(getattr(p.rules, rule)))


def evaluate(policies: Sequence[PrintPolicy], version: int, job: Candidate) -> Verdict:
    """The verdict of ``policies`` (those that apply to the job: its tenant's, its owner's
    groups', its printer's) on ``job``, at the tenant's policy ``version``."""
    settings, release = job.settings, job.release
    adjustments: list[Adjustment] = []

    def adjust(p: PrintPolicy, rule: RuleName, setting: Setting, before: Any, after: Any) -> None:
        adjustments.append(
            Adjustment(p.policy_id, p.name, p.revision, rule, setting, before, after)
        )

    if (p := _strictest(deciding(policies, "max_copies"), "max_copies", lambda v: v)) is not None:
        limit = p.rules.max_copies
        assert limit is not None
        if settings.copies > limit:
            adjust(p, "max_copies", "copies", settings.copies, limit)
            settings = settings.model_copy(update={"copies": limit})
    mono = _strictest(deciding(policies, "force_monochrome"), "force_monochrome", lambda v: not v)
    if mono is not None and mono.rules.force_monochrome:
        mode = settings.print_color_mode
        caps = job.capabilities
        can = caps is None or MONOCHROME in caps.print_color_mode_supported
        if can and (mode in (None, "auto", "color", "highlight") or job.colour):
            adjust(mono, "force_monochrome", "print_color_mode", mode, MONOCHROME)
            settings = settings.model_copy(update={"print_color_mode": MONOCHROME})
    colour = settings.colour or (job.colour and settings.print_color_mode is None)
    duplex = _strictest(deciding(policies, "force_duplex"), "force_duplex", lambda v: not v)
    if duplex is not None and duplex.rules.force_duplex and settings.sides in (None, "one-sided"):
        caps = job.capabilities
        if caps is None or DUPLEX in caps.sides_supported:
            adjust(duplex, "force_duplex", "sides", settings.sides, DUPLEX)
            settings = settings.model_copy(update={"sides": DUPLEX})
    secure = _strictest(
        deciding(policies, "colour_release_at_printer"), "colour_release_at_printer",
        lambda v: not v,
    )  # fmt: skip
    if secure is not None and secure.rules.colour_release_at_printer:
        if colour and release == "direct" and not job.pull:
            adjust(secure, "colour_release_at_printer", "release", release, "secure")
            release = "secure"

    refusal = _refusal(policies, job, settings)
    if refusal is not None:
        return Verdict(version, job.settings, job.release, job.colour, (), refusal)
    return Verdict(version, settings, release, colour, tuple(adjustments))


def _refusal(
    policies: Sequence[PrintPolicy], job: Candidate, settings: JobSettings
) -> Refusal | None:
    """The first refusal, in a fixed order: document type, hours, pages."""
    for p in deciding(policies, "document_formats"):
        allowed = p.rules.document_formats or []
        if job.document_format not in allowed:
            return Refusal(p.policy_id, p.name, p.revision, "document_formats",
                           f"documents of type {job.document_format} are not allowed "
                           f"(allowed: {', '.join(allowed)})")  # fmt: skip
    for p in deciding(policies, "allowed_hours"):
        hours = p.rules.allowed_hours
        assert hours is not None
        if not hours.admits(job.submitted_at):
            return Refusal(p.policy_id, p.name, p.revision, "allowed_hours",
                           f"submitted outside the allowed hours {hours.describe()}")  # fmt: skip
    limit_by = _strictest(deciding(policies, "max_pages"), "max_pages", lambda v: v)
    if limit_by is not None:
        limit = limit_by.rules.max_pages
        assert limit is not None
        printed = settings.printed_pages(job.pages)
        said = None
        if printed is None:
            said = f"the job's pages are not known, so it cannot be shown to stay within {limit}"
        elif printed > limit:
            said = f"the job prints {printed} pages, more than {limit} per job"
        if said is not None:
            return Refusal(limit_by.policy_id, limit_by.name, limit_by.revision, "max_pages", said)
    return None
