"""The routing rules as pure functions: where a job goes and when a decision changes."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.routing.domain.model import (
    Job,
    Place,
    Policy,
    Printer,
    Quota,
    decide,
    offline_too_long,
    redecide,
)
from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
TENANT = uuid.uuid4()
OWNER = uuid.uuid4()
DUPLEX = Capabilities(
    document_format_supported=["application/pdf"],
    media_supported=["iso_a4_210x297mm"],
    sides_supported=["one-sided", "two-sided-long-edge"],
)
SIMPLEX = DUPLEX.model_copy(update={"sides_supported": ["one-sided"]})


def printer(online: bool, since: datetime = NOW - timedelta(hours=1), **kw: object) -> Printer:
    fields: dict[str, object] = {
        "printer_id": uuid.uuid4(), "tenant_id": TENANT, "name": "P", "online": online,
        "since": since, "capabilities": DUPLEX,
    }  # fmt: skip
    fields.update(kw)
    return Printer(**fields)  # type: ignore[arg-type]


def job(target: Printer | None, **kw: object) -> Job:
    fields: dict[str, object] = {
        "job_id": uuid.uuid4(), "tenant_id": TENANT, "owner_id": OWNER,
        "target_printer_id": target.printer_id if target else None, "virtual_printer_id": None,
        "document_format": "application/pdf", "printed_pages": 12, "colour": False,
        "settings": JobSettings(sides="two-sided-long-edge"),
    }  # fmt: skip
    fields.update(kw)
    return Job(**fields)  # type: ignore[arg-type]


def place(p: Printer, policy: Policy, alt: Printer | None = None) -> Place:
    return Place(p.printer_id, p, policy, alt)


def quota(**kw: object) -> Quota:
    fields: dict[str, object] = {
        "quota_id": uuid.uuid4(), "subject_kind": "user", "subject_id": OWNER,
        "metric": "pages", "period": "month", "used": 512, "limit": 500, "policy": "hold",
        "exceeded": True,
    }  # fmt: skip
    fields.update(kw)
    return Quota(**fields)  # type: ignore[arg-type]


HOLD = Policy("hold", 120)


def failover_to(alt: Printer, after: int = 60) -> Policy:
    return Policy("failover", after, alt.printer_id)


def test_online_printer_gets_the_job_directly() -> None:
    p = printer(online=True)
    d = decide(job(p), place(p, HOLD), [], NOW)
    assert (d.action, d.printer_id, d.reason) == ("queue", p.printer_id, "direct")


def test_briefly_offline_printer_still_gets_the_job() -> None:
    p = printer(online=False, since=NOW - timedelta(seconds=119))
    assert decide(job(p), place(p, HOLD), [], NOW).reason == "direct"
    assert offline_too_long(p, HOLD, NOW + timedelta(seconds=1))


def test_unknown_printer_gets_the_benefit_of_the_doubt() -> None:
    p = printer(online=False)
    d = decide(job(p), Place(p.printer_id, None, HOLD, None), [], NOW)
    assert (d.action, d.reason) == ("queue", "direct")


def test_pull_print_is_held() -> None:
    d = decide(job(None, virtual_printer_id=uuid.uuid4()), None, [], NOW)
    assert (d.action, d.printer_id, d.reason) == ("hold", None, "pull")


def test_offline_past_the_limit_with_policy_hold_is_held() -> None:
    p = printer(online=False)
    d = decide(job(p), place(p, HOLD), [], NOW)
    assert (d.action, d.reason) == ("hold", "printer_offline")
    assert "offline since" in d.detail


def test_failover_to_an_online_capable_alternative() -> None:
    alt = printer(online=True, name="Backup")
    p = printer(online=False, name="Main")
    d = decide(job(p), place(p, failover_to(alt), alt), [], NOW)
    assert (d.action, d.printer_id, d.reason) == ("queue", alt.printer_id, "failover")
    assert "'Main'" in d.detail and "'Backup'" in d.detail


def test_no_failover_to_an_alternative_without_duplex_or_offline() -> None:
    p = printer(online=False)
    simplex = printer(online=True, capabilities=SIMPLEX)
    d = decide(job(p), place(p, failover_to(simplex), simplex), [], NOW)
    assert (d.action, d.reason) == ("hold", "printer_offline")
    assert "sides" in d.detail
    down = printer(online=False)
    d = decide(job(p), place(p, failover_to(down), down), [], NOW)
    assert (d.action, d.reason) == ("hold", "printer_offline") and "offline too" in d.detail
    unreported = printer(online=True, capabilities=None)
    assert decide(job(p), place(p, failover_to(unreported), unreported), [], NOW).action == "hold"
    foreign = printer(online=True, tenant_id=uuid.uuid4())
    assert decide(job(p), place(p, failover_to(foreign), foreign), [], NOW).action == "hold"


def test_quota_hold_has_a_readable_reason() -> None:
    p = printer(online=True)
    d = decide(job(p), place(p, HOLD), [quota()], NOW)
    assert (d.action, d.printer_id, d.reason) == ("hold", None, "quota")
    assert d.detail == "over the monthly quota of 500 pages: 512 used"


def test_quota_warning_still_queues() -> None:
    p = printer(online=True)
    d = decide(job(p), place(p, HOLD), [quota(policy="warn")], NOW)
    assert (d.action, d.printer_id, d.reason) == ("queue", p.printer_id, "quota_warning")
    assert "over the monthly quota of 500 pages" in d.detail


def test_a_job_that_would_exceed_the_limit_is_held() -> None:
    p = printer(online=True)
    q = quota(used=490, exceeded=False)
    d = decide(job(p, printed_pages=20), place(p, HOLD), [q], NOW)
    assert d.reason == "quota"
    assert d.detail == "this job's 20 pages would exceed the monthly quota of 500 pages: 490 used"
    assert decide(job(p, printed_pages=10), place(p, HOLD), [q], NOW).reason == "direct"
    pending = replace(q, pending=5)
    assert decide(job(p, printed_pages=10), place(p, HOLD), [pending], NOW).reason == "quota"


def test_a_job_of_unknown_or_zero_pages_never_slips_under_a_quota() -> None:
    p = printer(online=True)
    q = quota(used=0, exceeded=False)
    for pages in (None, 0):
        d = decide(job(p, printed_pages=pages), place(p, HOLD), [q], NOW)
        assert (d.action, d.reason) == ("hold", "quota"), pages
        assert "not known" in d.detail
    warn = quota(used=0, exceeded=False, policy="warn")
    assert decide(job(p, printed_pages=None), place(p, HOLD), [warn], NOW).reason == (
        "quota_warning"
    )
    lifted = quota(used=0, exceeded=False, override_until=NOW + timedelta(hours=1))
    assert decide(job(p, printed_pages=None), place(p, HOLD), [lifted], NOW).reason == "direct"


def test_override_lets_the_job_through() -> None:
    p = printer(online=True)
    q = quota(override_until=NOW + timedelta(hours=1))
    assert decide(job(p), place(p, HOLD), [q], NOW).reason == "direct"
    ended = quota(override_until=NOW - timedelta(seconds=1))
    assert decide(job(p), place(p, HOLD), [ended], NOW).reason == "quota"


def test_quotas_apply_to_owner_groups_tenant_and_colour_only_for_colour_jobs() -> None:
    p = printer(online=True)
    other = uuid.uuid4()
    assert decide(job(p), place(p, HOLD), [quota(subject_id=other)], NOW).reason == "direct"
    group = quota(subject_kind="group", subject_id=uuid.uuid4(), members=(other, OWNER))
    assert "the group's monthly" in decide(job(p), place(p, HOLD), [group], NOW).detail
    tenant = quota(subject_kind="tenant", subject_id=TENANT, period="year")
    assert "the organisation's yearly" in decide(job(p), place(p, HOLD), [tenant], NOW).detail
    colour = quota(metric="colour_pages")
    assert decide(job(p), place(p, HOLD), [colour], NOW).reason == "direct"
    d = decide(job(p, colour=True), place(p, HOLD), [colour], NOW)
    assert d.reason == "quota" and "colour pages" in d.detail


def test_pull_job_over_quota_is_held_for_quota_then_for_pull() -> None:
    j = job(None, virtual_printer_id=uuid.uuid4())
    assert decide(j, None, [quota()], NOW).reason == "quota"
    again = redecide(j, state="held", hold_reason="quota", target=None, located=None,
                     quotas=[quota(exceeded=False, used=0)], now=NOW)  # fmt: skip
    assert again is not None and (again.action, again.reason) == ("hold", "pull")


def test_held_offline_job_is_queued_when_the_printer_is_back() -> None:
    p = printer(online=False)
    j = job(p)
    kept = redecide(j, state="held", hold_reason="printer_offline", target=place(p, HOLD),
                    located=None, quotas=[], now=NOW)  # fmt: skip
    assert kept is None
    back = replace(p, online=True, since=NOW)
    d = redecide(j, state="held", hold_reason="printer_offline", target=place(back, HOLD),
                 located=None, quotas=[], now=NOW)  # fmt: skip
    assert d is not None and (d.action, d.printer_id, d.reason) == (
        "queue", p.printer_id, "printer_online",
    )  # fmt: skip


def test_held_quota_job_is_released_by_an_override() -> None:
    p = printer(online=True)
    j = job(p)
    still = redecide(j, state="held", hold_reason="quota", target=place(p, HOLD), located=None,
                     quotas=[quota()], now=NOW)  # fmt: skip
    assert still is None
    override = quota(override_until=NOW + timedelta(days=1))
    d = redecide(j, state="held", hold_reason="quota", target=place(p, HOLD), located=None,
                 quotas=[override], now=NOW)  # fmt: skip
    assert d is not None and (d.action, d.reason) == ("queue", "quota_override")


def test_queued_job_fails_over_only_past_the_limit_and_to_a_capable_printer() -> None:
    alt = printer(online=True)
    p = printer(online=False, since=NOW - timedelta(seconds=30))
    j = job(p)
    at = place(p, failover_to(alt, after=60), alt)
    assert redecide(j, state="queued", hold_reason=None, target=at, located=at, quotas=[],
                    now=NOW) is None  # fmt: skip
    later = NOW + timedelta(seconds=31)
    d = redecide(j, state="queued", hold_reason=None, target=at, located=at, quotas=[], now=later)
    assert d is not None and (d.printer_id, d.reason) == (alt.printer_id, "failover")
    simplex = replace(alt, capabilities=SIMPLEX)
    at = place(p, failover_to(simplex, after=60), simplex)
    assert redecide(j, state="queued", hold_reason=None, target=at, located=at, quotas=[],
                    now=later) is None  # fmt: skip
    held = place(p, HOLD)
    assert redecide(j, state="queued", hold_reason=None, target=held, located=held, quotas=[],
                    now=later + timedelta(hours=1)) is None  # fmt: skip


def test_sent_requested_and_pull_holds_are_never_redecided() -> None:
    p = printer(online=True)
    at = place(p, HOLD)
    for state, reason in (("sent", None), ("held", "requested"), ("held", "pull")):
        assert redecide(job(p), state=state, hold_reason=reason, target=at, located=at,
                        quotas=[], now=NOW) is None  # fmt: skip
