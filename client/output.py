"""What the user sees: the consoles (answers on stdout, failures on stderr), tables
that never cut an id, failures turned into one sentence with what to do next and
an exit code, and values (times, details) shown readably."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

import aiohttp
import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from client.api import CliError

out = Console(soft_wrap=True)  # a line is never broken inside an id or a path
err = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")

EXIT_CODES = (
    "Exit codes: 0 done.\n\n"
    "1 the command failed: the platform refused, an id was wrong, not logged in, or the "
    "platform could not be reached (the message says what to do next).\n\n"
    "2 a usage mistake (a missing or unknown option, a bad value); for `jobs watch`, a job "
    "that ended failed, canceled or expired.\n\n"
    "130 interrupted (Ctrl-C)."
)

LIST_PRINTERS = "`printcloud printers list` shows the printers you can print to"
NEXT_STEPS: dict[str, str] = {
    "printer-not-found": (
        f"check the id: {LIST_PRINTERS} (`--virtual` for virtual printers); ids are "
        "printed whole, copy them from there"
    ),
    "job-not-found": "check the id: `printcloud jobs list` shows your jobs",
    "virtual-printer-not-found": (
        "check the id: `printcloud printers list --virtual` shows the virtual printers"
    ),
    "capabilities-not-found": (
        "the printer has not reported what it can print yet: it does when it connects; "
        f"check the id and its state ({LIST_PRINTERS})"
    ),
    "document-not-found": "print the file again: `printcloud print FILE --printer ID`",
    "printer-not-ready": (
        "the printer has not reported what it can print yet (it may be offline or still "
        f"starting): try again in a moment; {LIST_PRINTERS} and their state"
    ),
    "settings-not-supported": (
        "`printcloud printers capabilities PRINTER_ID` lists what the printer accepts"
    ),
    "unsupported-media-type": (
        "the platform does not take this kind of document: convert it to PDF, or name its "
        "type with --format (e.g. --format application/pdf)"
    ),
    "release-conflict": (
        "`printcloud jobs list --state held` shows the jobs still waiting for release"
    ),
    "release-required": (
        "a secure job prints only once you log in at the printer (its panel, or "
        "`printcloud phone approve`)"
    ),
    "unauthenticated": ("log in again: `printcloud login --url <base URL> --token <API token>`"),
    "api-token-refused": (
        "check the API token (it starts with pc_), or ask your administrator for a new one; "
        "then `printcloud login --url <base URL> --token <API token>`"
    ),
    "forbidden": (
        "your API token does not allow this: ask your administrator for one with the scope it needs"
    ),
    "too-many-requests": "wait a moment and try again",
    "quota-exceeded": (
        "your print quota for this period is used up: ask your administrator, or wait for "
        "the next period"
    ),
}
STATUS_STEPS: dict[int, str] = {
    401: NEXT_STEPS["unauthenticated"],
    403: NEXT_STEPS["forbidden"],
    413: "the document is larger than the platform accepts: print a smaller file",
    429: NEXT_STEPS["too-many-requests"],
    502: "the platform is not answering right now: try again in a moment",
    503: "the platform is not answering right now: try again in a moment",
}


def next_step(exc: CliError) -> str:
    """What to do about a refusal ("" when there is nothing to add)."""
    return NEXT_STEPS.get(exc.code) or STATUS_STEPS.get(exc.status or 0, "")


def fail(message: str, step: str = "") -> None:
    err.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    if step:
        err.print(f"next: {step}", highlight=False, soft_wrap=True)


def friendly(command: Callable[P, R]) -> Callable[P, R]:
    """Run a command; failures become one readable message, what to do next, and exit
    code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CliError as exc:
            fail(str(exc), next_step(exc))
        except aiohttp.ClientConnectorError as exc:
            fail(
                f"cannot reach {exc.host}:{exc.port} ({exc.os_error})",
                "is the platform running? (`deploy/local/platform` runs one on this "
                "machine); `printcloud login --url` sets where it is",
            )
        except aiohttp.ClientError as exc:
            fail(f"the connection failed: {type(exc).__name__} {exc}", "try again in a moment")
        except TimeoutError:
            fail("the platform did not answer in time", "try again in a moment")
        except OSError as exc:
            fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        except KeyboardInterrupt:
            err.print("interrupted")
            raise typer.Exit(130) from None
        raise typer.Exit(1)

    return wrapper


def new_table(*headers: str, ids: Sequence[str] = ("id",), **kwargs: Any) -> Table:
    """A table whose id columns are never cut nor wrapped; the other columns fold onto
    more lines when the terminal is narrow (nothing is ever cut with an ellipsis)."""
    table = Table(**kwargs)
    for header in headers:
        table.add_column(header, no_wrap=header in ids, overflow="fold")
    return table


def print_table(table: Table, console: Console | None = None) -> None:
    """On a terminal wide enough, the table; on a narrower one, each row as ``column:
    value`` lines (a squeezed table would cut or shred the ids). Through a pipe, the
    table as wide as its content (a pipe has no width: each row stays one line)."""
    console = console or out
    if not console.is_terminal:
        wide = Console(file=console.file, width=100_000, no_color=True, highlight=False)
        wide.print(table)
        return
    natural = Measurement.get(console, console.options.update(width=100_000), table).maximum
    if natural <= console.width:
        console.print(table)
        return
    if table.title:
        console.print(table.title, highlight=False)
    headers = [str(c.header) for c in table.columns]
    cells = [list(c.cells) for c in table.columns]
    for n in range(table.row_count):
        for header, column in zip(headers, cells, strict=True):
            console.print(f"{header}: {column[n]}", highlight=False, soft_wrap=True)
        console.print()


def print_json(value: Any) -> None:
    """JSON for scripts: coloured and indented on a terminal, one plain document in a pipe."""
    if out.is_terminal:
        out.print_json(json.dumps(value))
    else:
        out.file.write(json.dumps(value, indent=2) + "\n")


def short_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT.*", value):
        try:
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return value
    return str(value)


def event_time(value: Any, now: datetime | None = None) -> str:
    """When an event happened, in local time: ``HH:MM:SS`` today, else the date too
    (one word either way); "--:--:--" when the event does not say."""
    if not isinstance(value, str):
        return "--:--:--"
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return "--:--:--"
    local = at.astimezone() if at.tzinfo else at
    today = (now or datetime.now().astimezone()).date()
    return local.strftime("%H:%M:%S" if local.date() == today else "%Y-%m-%dT%H:%M:%S")


def readable(value: Any) -> str:
    """A detail as words: ``{"reason": "quota", "printer_id": "..."}`` ->
    ``reason quota, printer id ...``; text as it is."""
    if value is None or value == "" or value == {} or value == []:
        return ""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return readable(parsed) if isinstance(parsed, dict | list) else value
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            text = readable(item)
            if text:
                parts.append(f"{str(key).replace('_', ' ')} {text}")
        return ", ".join(parts)
    if isinstance(value, list):
        return ", ".join(t for t in (readable(v) for v in value) if t)
    return str(value)
