"""Print policies as pure rules: each rule's adjustment or refusal, the precedence of
printer over group over tenant, the strictest within a level, refusal over adjustment,
the allowed hours across midnight and time zones, and the validation of policies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from services.routing.domain.commands import SavePrintPolicy
from services.routing.domain.print_policies import (
    AllowedHours,
    Candidate,
    PrintPolicy,
    Rules,
    Scope,
    evaluate,
)
from shared.groups.membership import effective_groups
from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings

TENANT = uuid.uuid4()
# A Monday, 10:00 UTC (11:00 in Paris in winter).
MONDAY_10 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def policy(name: str, scope: Scope = "tenant", **rules: Any) -> PrintPolicy:
    subject = None if scope == "tenant" else uuid.uuid4()
    return PrintPolicy(uuid.uuid4(), TENANT, name, scope, subject, Rules(**rules), 1)


def job(**changes: Any) -> Candidate:
    values: dict[str, Any] = {
        "settings": JobSettings(),
        "release": "direct",
        "document_format": "application/pdf",
        "pages": 4,
        "colour": False,
        "submitted_at": MONDAY_10,
        "pull": False,
        "capabilities": None,
    }
    return Candidate(**{**values, **changes})


def colour_job(**changes: Any) -> Candidate:
    return job(**{"settings": JobSettings(print_color_mode="color"), "colour": True, **changes})


# --- each rule ------------------------------------------------------------------------


def test_force_duplex_turns_one_sided_jobs_two_sided() -> None:
    p = policy("Save paper", force_duplex=True)
    verdict = evaluate([p], 3, job(settings=JobSettings(sides="one-sided")))
    assert verdict.refusal is None and verdict.version == 3
    assert verdict.settings.sides == "two-sided-long-edge"
    [change] = verdict.adjustments
    assert (change.policy_id, change.policy_name, change.setting) == (
        p.policy_id,
        "Save paper",
        "sides",
    )
    assert (change.before, change.after, change.rule) == (
        "one-sided",
        "two-sided-long-edge",
        "force_duplex",
    )
    assert "policy 'Save paper' set sides one-sided -> two-sided-long-edge" in verdict.describe()


def test_force_duplex_leaves_a_two_sided_job_and_a_simplex_printer_alone() -> None:
    p = policy("Save paper", force_duplex=True)
    short = job(settings=JobSettings(sides="two-sided-short-edge"))
    assert evaluate([p], 1, short).adjustments == ()
    simplex = Capabilities(
        document_format_supported=["application/pdf"], sides_supported=["one-sided"]
    )
    assert evaluate([p], 1, job(capabilities=simplex)).adjustments == ()


def test_force_monochrome_prints_a_colour_job_in_monochrome() -> None:
    p = policy("Black and white", force_monochrome=True)
    verdict = evaluate([p], 1, colour_job())
    assert verdict.settings.print_color_mode == "monochrome" and verdict.colour is False
    assert [(a.setting, a.before, a.after) for a in verdict.adjustments] == [
        ("print_color_mode", "color", "monochrome")
    ]


def test_force_monochrome_leaves_a_printer_without_monochrome_alone() -> None:
    p = policy("Black and white", force_monochrome=True)
    colour_only = Capabilities(document_format_supported=["application/pdf"],
                               print_color_mode_supported=["color"])  # fmt: skip
    assert evaluate([p], 1, colour_job(capabilities=colour_only)).adjustments == ()


def test_max_copies_lowers_the_copies() -> None:
    verdict = evaluate([policy("Few copies", max_copies=5)], 1, job(settings=JobSettings(copies=9)))
    assert verdict.settings.copies == 5
    assert [(a.setting, a.before, a.after) for a in verdict.adjustments] == [("copies", 9, 5)]
    assert evaluate([policy("Few", max_copies=5)], 1, job()).adjustments == ()


def test_max_pages_refuses_a_longer_job_naming_the_policy() -> None:
    p = policy("Short jobs", max_pages=10)
    verdict = evaluate([p], 2, job(pages=4, settings=JobSettings(copies=3)))
    assert verdict.refusal is not None
    assert (verdict.refusal.policy_id, verdict.refusal.rule) == (p.policy_id, "max_pages")
    assert verdict.describe() == (
        "refused by policy 'Short jobs': the job prints 12 pages, more than 10 per job"
    )
    assert evaluate([p], 2, job(pages=10)).refusal is None
    assert evaluate([p], 2, job(pages=None)).refusal is not None  # unknown never slips through


def test_max_pages_counts_the_copies_left_after_max_copies() -> None:
    policies = [policy("Few copies", max_copies=2), policy("Short jobs", max_pages=10)]
    verdict = evaluate(policies, 1, job(pages=4, settings=JobSettings(copies=5)))
    assert verdict.refusal is None and verdict.settings.copies == 2


def test_allowed_hours_refuse_a_job_outside_the_window() -> None:
    hours = {"timezone": "Europe/Paris", "days": ["mon", "tue"], "start": "08:00", "end": "11:00"}
    p = policy("Office hours", allowed_hours=hours)
    in_time = job(submitted_at=datetime(2026, 12, 7, 9, 59, tzinfo=UTC))  # 10:59 in Paris
    assert evaluate([p], 1, in_time).refusal is None
    refusal = evaluate([p], 1, job()).refusal  # 11:00 in Paris: the end is exclusive
    assert refusal is not None and refusal.rule == "allowed_hours"
    assert "outside the allowed hours mon, tue 08:00-11:00 (Europe/Paris)" in refusal.reason
    sunday = job(submitted_at=datetime(2026, 12, 6, 9, 0, tzinfo=UTC))
    assert evaluate([p], 1, sunday).refusal is not None


def test_allowed_hours_across_midnight_belong_to_the_day_they_start() -> None:
    night = AllowedHours(timezone="UTC", days=["fri"], start="22:00", end="06:00")  # type: ignore[arg-type]
    assert night.admits(datetime(2026, 12, 11, 23, 0, tzinfo=UTC))  # Friday 23:00
    assert night.admits(datetime(2026, 12, 12, 5, 59, tzinfo=UTC))  # Saturday 05:59
    assert not night.admits(datetime(2026, 12, 12, 23, 0, tzinfo=UTC))  # Saturday 23:00
    assert not night.admits(datetime(2026, 12, 11, 5, 0, tzinfo=UTC))  # Friday 05:00


def test_colour_jobs_must_be_released_at_the_printer() -> None:
    p = policy("Colour at the printer", colour_release_at_printer=True)
    verdict = evaluate([p], 1, colour_job())
    assert verdict.release == "secure"
    assert [(a.setting, a.before, a.after) for a in verdict.adjustments] == [
        ("release", "direct", "secure")
    ]
    assert evaluate([p], 1, job()).release == "direct"  # monochrome prints directly
    assert evaluate([p], 1, colour_job(pull=True, release="pull")).adjustments == ()


def test_document_types_outside_the_list_are_refused() -> None:
    p = policy("PDF only", document_formats=["application/pdf"])
    assert evaluate([p], 1, job()).refusal is None
    refusal = evaluate([p], 1, job(document_format="image/jpeg")).refusal
    assert refusal is not None and refusal.policy_name == "PDF only"
    assert "image/jpeg are not allowed" in refusal.reason


# --- precedence -----------------------------------------------------------------------


def test_a_group_policy_beats_the_tenant_policy_colour_only_for_some_groups() -> None:
    tenant = policy("Monochrome", force_monochrome=True)
    design = policy("Design may use colour", "group", force_monochrome=False)
    assert evaluate([tenant, design], 1, colour_job()).adjustments == ()
    assert evaluate([tenant], 1, colour_job()).settings.print_color_mode == "monochrome"


def test_a_printer_policy_beats_group_and_tenant_policies() -> None:
    tenant = policy("Tenant copies", max_copies=10)
    group = policy("Group copies", "group", max_copies=5)
    printer = policy("Printer copies", "printer", max_copies=20)
    verdict = evaluate([tenant, group, printer], 1, job(settings=JobSettings(copies=30)))
    assert verdict.settings.copies == 20
    assert verdict.adjustments[0].policy_name == "Printer copies"
    without_printer = evaluate([tenant, group], 1, job(settings=JobSettings(copies=30)))
    assert without_printer.adjustments[0].policy_name == "Group copies"


def test_within_one_level_the_strictest_policy_wins() -> None:
    a = policy("Group A", "group", max_copies=5, force_monochrome=False)
    b = policy("Group B", "group", max_copies=3, force_monochrome=True)
    verdict = evaluate(
        [a, b], 1, colour_job(settings=JobSettings(copies=9, print_color_mode="color"))
    )
    assert verdict.settings.copies == 3 and verdict.settings.print_color_mode == "monochrome"
    assert {x.policy_name for x in verdict.adjustments} == {"Group B"}


def test_a_refusal_beats_every_adjustment() -> None:
    duplex = policy("Duplex", force_duplex=True)
    pdf = policy("PDF only", "printer", document_formats=["application/pdf"])
    verdict = evaluate([duplex, pdf], 4, job(document_format="text/plain"))
    assert verdict.refusal is not None and verdict.refusal.policy_name == "PDF only"
    assert verdict.adjustments == () and verdict.settings == JobSettings()
    assert verdict.version == 4


def test_no_policy_changes_nothing() -> None:
    verdict = evaluate([], 0, colour_job())
    assert (verdict.adjustments, verdict.refusal, verdict.version) == ((), None, 0)
    assert verdict.release == "direct" and verdict.colour is True


# --- validation -----------------------------------------------------------------------


def fields_of(exc: ValidationError) -> dict[str, str]:
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in exc.errors()}


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"rules": {}}, "rules", "at least one rule"),
        (
            {
                "rules": {
                    "allowed_hours": {"timezone": "Mars/Olympus", "start": "08:00", "end": "18:00"}
                }
            },
            "rules.allowed_hours.timezone",
            "unknown time zone",
        ),
        (
            {"rules": {"allowed_hours": {"timezone": "UTC", "start": "25:00", "end": "18:00"}}},
            "rules.allowed_hours.start",
            "time",
        ),
        (
            {"rules": {"allowed_hours": {"timezone": "UTC", "start": "08:00", "end": "08:00"}}},
            "rules.allowed_hours.end",
            "empty",
        ),
        (
            {
                "rules": {
                    "allowed_hours": {
                        "timezone": "UTC",
                        "start": "08:00",
                        "end": "09:00",
                        "days": ["mon", "mon"],
                    }
                }
            },
            "rules.allowed_hours.days",
            "twice",
        ),
        (
            {
                "rules": {
                    "allowed_hours": {
                        "timezone": "UTC",
                        "start": "08:00",
                        "end": "09:00",
                        "days": ["monday"],
                    }
                }
            },
            "rules.allowed_hours.days.0",
            "'mon'",
        ),
        ({"rules": {"max_pages": 0}}, "rules.max_pages", "greater than"),
        ({"rules": {"document_formats": ["pdf"]}}, "rules.document_formats", "not a MIME"),
        ({"scope": "group", "rules": {"max_pages": 5}}, "group_id", "required with scope group"),
        (
            {"printer_id": str(uuid.uuid4()), "rules": {"max_pages": 5}},
            "printer_id",
            "only with scope printer",
        ),
        ({"rules": {"max_pages": 5, "colour": True}}, "rules.colour", "xtra"),
    ],
)
def test_bad_policies_name_the_field(body: dict[str, Any], field: str, reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SavePrintPolicy.model_validate({"name": "P", "scope": "tenant", **body})
    said = fields_of(caught.value)
    assert field in said and reason in said[field], said


# --- effective groups -----------------------------------------------------------------


class G:
    def __init__(self, users: list[uuid.UUID] = [], groups: list[uuid.UUID] = []) -> None:  # noqa: B006
        self.group_id = uuid.uuid4()
        self.member_user_ids = users
        self.member_group_ids = groups


def test_effective_groups_are_transitive_and_survive_cycles_and_unknown_members() -> None:
    user = uuid.uuid4()
    team = G(users=[user])
    department = G(groups=[team.group_id, uuid.uuid4()])
    company = G(groups=[department.group_id])
    other = G(users=[uuid.uuid4()])
    loop_a = G(users=[user])
    loop_b = G(groups=[loop_a.group_id])
    loop_a.member_group_ids = [loop_b.group_id]
    found = effective_groups(user, [team, department, company, other, loop_a, loop_b])
    assert found == {
        team.group_id,
        department.group_id,
        company.group_id,
        loop_a.group_id,
        loop_b.group_id,
    }
    assert effective_groups(uuid.uuid4(), [team, department]) == set()


# --- the router applies them ----------------------------------------------------------


async def test_the_first_decision_carries_the_version_and_the_adjustments() -> None:
    from services.routing.domain.events import JobRouted
    from services.routing.handlers.decisions import Router
    from shared.events.contracts.jobs import JobSubmitted
    from shared.testing.uow import InMemoryTransactions
    from tests.support.fakes.routing import FakeRoutingRepository

    tx = InMemoryTransactions(FakeRoutingRepository())
    printer = tx.repo.add_printer(TENANT, online=True)
    mono = policy("Monochrome", force_monochrome=True)
    pdf = policy("PDF only", "printer", document_formats=["application/pdf"])
    pdf = PrintPolicy(pdf.policy_id, TENANT, pdf.name, "printer", printer, pdf.rules, 2)
    tx.repo.print_policies[TENANT] = (7, [mono, pdf])

    def submitted(fmt: str) -> JobSubmitted:
        return JobSubmitted(
            job_id=uuid.uuid4(),
            tenant_id=TENANT,
            owner_id=uuid.uuid4(),
            at=MONDAY_10,
            printer_id=printer,
            virtual_printer_id=None,
            release="direct",
            title="t",
            document_id=uuid.uuid4(),
            document_sha256="0" * 64,
            document_size=1,
            document_format=fmt,
            pages=2,
            printed_pages=2,
            colour=True,
            settings=JobSettings(print_color_mode="color"),
        )

    ok, bad = submitted("application/pdf"), submitted("text/plain")
    for data in (ok, bad):
        async with tx() as uow:
            await Router(300).submitted(uow, data)
    first, refused = [e for e in tx.announced(JobRouted) if isinstance(e, JobRouted)]
    assert (first.action, first.policy_version) == ("queue", 7)
    assert [(a.policy_name, a.setting, a.after) for a in first.adjustments] == [
        ("Monochrome", "print_color_mode", "monochrome")
    ]
    assert "policy 'Monochrome' set print_color_mode color -> monochrome" in first.detail
    tracked = tx.repo.jobs[ok.job_id].job
    assert tracked.settings.print_color_mode == "monochrome" and tracked.colour is False
    assert (refused.action, refused.reason, refused.printer_id) == ("refuse", "policy", None)
    assert refused.refusal is not None and refused.refusal.policy_name == "PDF only"
    assert refused.refusal.policy_revision == 2 and refused.adjustments == []
    assert bad.job_id not in tx.repo.jobs  # nothing left to route
    async with tx() as uow:  # redelivered: decided once
        await Router(300).submitted(uow, bad)
    assert len(tx.repo.decisions[bad.job_id]) == 1
