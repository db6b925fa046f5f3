"""What the user CLI shows, without a platform: tables that never cut an id (on a
terminal of any width, through a pipe), events with their own time and details in
words, and a next step for each common refusal."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import pytest
from rich.console import Console

from client.api import CliError
from client.commands.jobs import watch_line
from client.commands.printing import what_next
from client.commands.release import nothing_released
from client.output import event_time, new_table, next_step, print_table, readable

IDS = [str(uuid.uuid4()) for _ in range(3)]


def shown(width: int, terminal: bool) -> str:
    table = new_table("id", "name", "model", "location", "state")
    for ident in IDS:
        table.add_row(ident, "Lobby printer on the second floor", "LaserJet 9", "-", "idle")
    f = io.StringIO()
    print_table(table, Console(file=f, width=width, force_terminal=terminal, color_system=None))
    return f.getvalue()


@pytest.mark.parametrize(("width", "terminal"), [(200, True), (60, True), (20, True), (40, False)])
def test_ids_are_whole_at_any_width(width: int, terminal: bool) -> None:
    text = shown(width, terminal)
    assert "…" not in text
    for ident in IDS:
        assert ident in text, text


def test_a_wide_terminal_gets_a_table_a_narrow_one_rows_and_a_pipe_whole_lines() -> None:
    assert "┃ id " in shown(200, True)
    narrow = shown(60, True)
    assert f"id: {IDS[0]}" in narrow and "name: Lobby printer on the second floor" in narrow
    piped = shown(40, False)
    rows = [line for line in piped.splitlines() if IDS[0] in line]
    assert len(rows) == 1 and "Lobby printer on the second floor" in rows[0]


def test_an_event_shows_its_own_time_and_details_in_words() -> None:
    now = datetime(2030, 1, 1, 18, tzinfo=UTC)
    assert event_time("2030-01-01T12:00:05+00:00", now).endswith(":00:05")
    assert event_time("2029-12-31T12:00:05Z", now).startswith("2029-12-31T")
    assert event_time(None) == "--:--:--"
    detail = {"hold_reason": "quota", "limit": 10, "printer_id": None}
    assert readable(detail) == "hold reason quota, limit 10"
    assert readable('{"reason": "offline"}') == "reason offline"
    line = watch_line("job.state", {"state": "held", "at": "2030-01-01T12:00:05+00:00",
                                    "printer_id": "p1", "detail": detail})  # fmt: skip
    assert line.split()[1:] == [
        "job.state", "state=held", "at", "printer", "p1:", "hold", "reason", "quota,", "limit",
        "10",
    ]  # fmt: skip
    assert "{" not in line and "None" not in line


def test_common_refusals_say_what_to_do_next() -> None:
    for code, words in [
        ("printer-not-found", "printcloud printers list"),
        ("job-not-found", "printcloud jobs list"),
        ("unsupported-media-type", "--format"),
        ("settings-not-supported", "printcloud printers capabilities"),
        ("printer-not-ready", "try again"),
        ("quota-exceeded", "quota"),
        ("api-token-refused", "printcloud login"),
    ]:
        assert words in next_step(CliError("x", status=400, code=code)), code
    assert "printcloud login" in next_step(CliError("x", status=401))
    assert next_step(CliError("x")) == ""


def test_nothing_released_explains_secure_jobs_and_pull_jobs() -> None:
    printer = str(uuid.uuid4())
    secure = {"release": "secure", "state": "pending", "printer_id": printer}
    text = nothing_released(printer, [secure])
    assert "1 secure job(s)" in text and "log in there" in text
    assert "printcloud phone approve" in text
    pull = {"release": "direct", "state": "held", "virtual_printer_id": "v"}
    assert "printers list --virtual" in nothing_released(printer, [pull])
    assert "no job waiting for release" in nothing_released(printer, [])
    assert "release` does not print it" in what_next({"id": "j"}, secure=True, virtual=False)
    held = {"id": "j", "state": "held", "hold_reason": "quota", "state_detail": "over quota"}
    assert "quota" in what_next(held, secure=False, virtual=False)
