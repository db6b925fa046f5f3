"""``printcloud audit``: the tenant's trail of administrative changes (administrators)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from client.api import CliError, run
from client.output import friendly, new_table, out, print_json, print_table, short_value

audit_app = typer.Typer(
    help="The audit trail: who changed what, and when (administrators).", no_args_is_help=True
)
BASE = "/v1/audit"
QUIET_FIELDS = frozenset({"revision", "tenant_id"})
"""Fields that change with everything, left out of a change's summary."""

Since = Annotated[str | None, typer.Option(help="from this instant on (ISO 8601, e.g. 2026-12-01)")]
Until = Annotated[str | None, typer.Option(help="before this instant (ISO 8601)")]
Subject = Annotated[str | None, typer.Option(help="only changes of this printer, user, ... id")]
Actor = Annotated[str | None, typer.Option(help="only changes by this user id (or 'operator')")]
Type = Annotated[str | None, typer.Option("--type", help="an event type, or e.g. 'printer.*'")]


def _instant(option: str, value: str | None) -> str | None:
    """An ISO 8601 instant with its zone (a date or a zone-less time is taken as UTC)."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"--{option} {value!r} is not an ISO 8601 date or time") from None
    if at.tzinfo is None:
        return at.isoformat() + "+00:00"
    return at.isoformat()


def _filters(
    since: str | None, until: str | None, subject: str | None, actor: str | None, kind: str | None
) -> dict[str, str]:
    query = {"since": _instant("since", since), "until": _instant("until", until),
             "subject": subject, "actor": actor, "type": kind}  # fmt: skip
    return {k: v for k, v in query.items() if v is not None}


def summary(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """What changed, in a few words: ``created``, ``deleted`` or ``name: Lobby -> Hall``."""
    if before is None and after is not None:
        return "created"
    if after is None:
        return "deleted"
    assert before is not None
    changed = [
        f"{k}: {short_value(before.get(k))} -> {short_value(after.get(k))}"
        for k in sorted(set(before) | set(after))
        if k not in QUIET_FIELDS and before.get(k) != after.get(k)
    ]
    return "; ".join(changed) or "no visible change"


def _who(actor: dict[str, Any]) -> str:
    return str(actor["id"]) if actor["kind"] == "user" else f"{actor['kind']}:{actor['id']}"


@audit_app.command("list")
@friendly
def audit_list(
    since: Since = None,
    until: Until = None,
    subject: Subject = None,
    actor: Actor = None,
    kind: Type = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="at most this many")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The newest administrative changes first."""
    query = {**_filters(since, until, subject, actor, kind), "limit": str(limit)}
    page = run(lambda c: c.request("GET", BASE, params=query))
    if as_json:
        print_json(page["items"])
        return
    table = new_table("when", "actor", "type", "subject", "change", ids=("actor", "subject"))
    for e in page["items"]:
        table.add_row(short_value(e["occurred_at"]), _who(e["actor"]), e["type"],
                      e["subject"]["id"], summary(e["before"], e["after"]))  # fmt: skip
    print_table(table)
    if page["next_before"]:
        out.print("(more: narrow the filters, or use --limit up to 500; "
                  "'printcloud audit export' writes them all)")  # fmt: skip


@audit_app.command("export")
@friendly
def audit_export(
    since: Since = None,
    until: Until = None,
    subject: Subject = None,
    actor: Actor = None,
    kind: Type = None,
    output: Annotated[Path | None, typer.Option(help="write to this file (else stdout)")] = None,
) -> None:
    """Every matching change, oldest first, as JSON lines (one entry per line)."""
    query = _filters(since, until, subject, actor, kind)
    sink: BinaryIO = output.open("wb") if output is not None else sys.stdout.buffer
    try:
        written = run(lambda c: c.copy(f"{BASE}/export", query, sink.write))
    finally:
        if output is not None:
            sink.close()
        else:
            sink.flush()
    if output is not None:
        out.print(f"written {output} ({written} bytes)")
