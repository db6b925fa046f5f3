"""Counters' rules without I/O: monotonic counters, quota periods, windows, IPP supplies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.agent.telemetry import _pages, supplies_from
from services.counters.domain.model import (
    Kept,
    Quota,
    Step,
    UsageWindow,
    group_windows,
    interpret,
    period_end,
    period_start,
    window_of,
)
from shared.events.contracts.gateway import CounterValue
from shared.sharing import Membership

T0 = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)


def values(**kw: int) -> list[CounterValue]:
    return [CounterValue(name=k, value=v) for k, v in kw.items()]  # type: ignore[arg-type]


def test_a_reading_adds_increments_and_a_lower_value_is_a_reset() -> None:
    kept = {"total": Kept(100, T0), "colour": Kept(40, T0)}
    later = T0 + timedelta(minutes=5)
    assert interpret(kept, values(total=130, colour=40, mono=7), later) == [
        Step("total", "impressions", 130, 30), Step("mono", "impressions", 7, 0),
    ]  # fmt: skip
    assert interpret(kept, values(total=3, colour=41), later) == [
        Step("total", "impressions", 3, 0, reset_from=100), Step("colour", "impressions", 41, 1),
    ]  # fmt: skip
    assert interpret(kept, values(total=100, colour=40), later) is None  # same values
    assert interpret(kept, values(total=500), T0 - timedelta(seconds=1)) is None  # older
    media = [CounterValue(name="media", media="iso_a4_210x297mm", value=9)]
    assert interpret({}, media, T0)[0].counter == "media:iso_a4_210x297mm"  # type: ignore[index]


def test_periods_start_on_utc_boundaries() -> None:
    at = datetime(2026, 3, 5, 15, 0, tzinfo=UTC)  # a Thursday
    assert period_start("day", at) == datetime(2026, 3, 5, tzinfo=UTC)
    assert period_start("week", at) == datetime(2026, 3, 2, tzinfo=UTC)
    assert period_start("month", at) == datetime(2026, 3, 1, tzinfo=UTC)
    assert period_start("year", at) == datetime(2026, 1, 1, tzinfo=UTC)
    december = datetime(2026, 12, 1, tzinfo=UTC)
    assert period_end("month", december) == datetime(2027, 1, 1, tzinfo=UTC)
    assert window_of("month", T0) == (datetime(2026, 3, 1, tzinfo=UTC),
                                      datetime(2026, 4, 1, tzinfo=UTC))  # fmt: skip
    assert window_of("hour", T0)[0] == datetime(2026, 3, 31, 23, tzinfo=UTC)


def quota(**kw: object) -> Quota:
    base: dict[str, object] = dict(
        id=uuid.uuid4(), tenant_id=uuid.uuid4(), subject_kind="group", subject_id=uuid.uuid4(),
        members=(), metric="pages", period="month", limit=10, policy="hold",
        period_start=datetime(2026, 3, 1, tzinfo=UTC), used=8, override_until=None,
        override_reason="", revision=1, created_at=T0, updated_at=T0,
    )  # fmt: skip
    base.update(kw)
    return Quota(**base)  # type: ignore[arg-type]


def test_quotas_count_jobs_of_their_period_and_subject() -> None:
    member = uuid.uuid4()
    q = quota(members=(member,))
    assert q.applies_to(member) and not q.applies_to(uuid.uuid4())
    charged = q.charged(3, T0, T0)
    assert charged is not None and charged.used == 11 and charged.exceeded
    assert q.charged(3, datetime(2026, 2, 28, tzinfo=UTC), T0) is None  # last month's job
    april = T0 + timedelta(hours=1)
    rolled = q.charged(2, april, april)
    assert rolled is not None and (rolled.used, rolled.period_start) == (
        2, datetime(2026, 4, 1, tzinfo=UTC),
    )  # fmt: skip
    assert q.charged(0, T0, T0) is None


def test_ipp_marker_attributes_become_supply_levels() -> None:
    levels = supplies_from({
        "marker-types": ["toner", "toner", "waste-toner", "opc"],
        "marker-colors": ["#000000", "#00FFFF", "none", "#123456"],
        "marker-levels": [40, -3, 100, 70],
        "marker-names": ["Black", "Cyan", "Waste", "Drum"],
    })  # fmt: skip
    assert [(s.kind, s.colour, s.level_percent, s.name) for s in levels] == [
        ("toner", "black", 40, "Black"), ("toner", "cyan", None, "Cyan"),
        ("waste", "none", 100, "Waste"), ("drum", "other", 70, "Drum"),
    ]  # fmt: skip
    assert supplies_from({}) == []


def test_simulated_pages_are_counted_from_the_pdf() -> None:
    pdf = b"<</Type /Pages /Count 2>> <</Type /Page>> <</Type/Page>>"
    assert _pages(pdf, "application/pdf") == 2
    assert _pages(b"\xff\xd8", "image/jpeg") == 1


def test_a_groups_usage_sums_its_members_through_nested_groups_once_each() -> None:
    tenant, ada, bob, eve = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    team, department, loop = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def user(subject: uuid.UUID, pages: int, sheets: int, duplex: int) -> UsageWindow:
        return UsageWindow(
            tenant, "month", "user", subject, T0, T0 + timedelta(days=30), pages, 0, 1,
            sheets, duplex,
        )  # fmt: skip

    windows = [user(ada, 10, 5, 5), user(bob, 3, 3, 0), user(eve, 7, 7, 0)]
    groups = {
        team: Membership(frozenset({ada, bob}), frozenset()),
        # the department holds the team twice over (directly and through a loop that a
        # stale read model might hold): each member still counts once
        department: Membership(frozenset({ada}), frozenset({team, loop})),
        loop: Membership(frozenset(), frozenset({department})),
    }
    rows = {w.subject_id: w for w in group_windows(windows, groups)}
    assert {g: (w.pages, w.sheets, w.duplex_sheets, w.jobs) for g, w in rows.items()} == {
        team: (13, 8, 5, 2), department: (13, 8, 5, 2), loop: (13, 8, 5, 2),
    }  # fmt: skip
    assert {w.dimension for w in rows.values()} == {"group"}
