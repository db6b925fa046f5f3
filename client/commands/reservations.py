"""``printcloud reservations``: reserved printing of your kept documents at a printer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from client.api import (
    CliError,
    run,
)
from client.output import friendly, new_table, out, print_json, print_table

reservations_app = typer.Typer(help="Reserved printing at a printer.", no_args_is_help=True)


@reservations_app.command("create")
@friendly
def reservations_create(
    printer: Annotated[str, typer.Option("--printer", help="the printer")],
    max_count: Annotated[int, typer.Option("--max-count", min=1, help="documents at most")],
    max_pages: Annotated[int, typer.Option("--max-pages", min=1, help="pages at most")],
    deadline: Annotated[
        str, typer.Option(help="until when, ISO 8601 with a time zone (2030-01-01T12:00:00Z)")
    ],
) -> None:
    """Reserve printing of your kept documents at a printer until a deadline."""
    try:
        when = datetime.fromisoformat(deadline.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"--deadline {deadline!r} is not an ISO 8601 date and time") from None
    if when.tzinfo is None:
        raise CliError("--deadline needs a time zone, e.g. 2030-01-01T12:00:00Z or +02:00")
    body = {
        "printer_id": printer,
        "max_count": max_count,
        "max_pages": max_pages,
        "deadline": when.isoformat(),
    }
    answer = run(lambda c: c.request("POST", "/v1/reservations", json_body=body))
    jobs = answer.get("jobs") or []
    out.print(
        f"reservation {answer.get('reservation_id')}: {len(jobs)} document(s) queued at "
        f"{printer}, printed in this order until {when.isoformat()}:"
    )
    for n, job in enumerate(jobs, start=1):
        pages = "?" if job.get("pages") is None else job["pages"]
        title = job.get("title") or "(untitled)"
        out.print(f"  {n}. {title}  {pages} page(s)  job {job.get('id')}")


def _state(reservation: dict[str, object]) -> str:
    """``canceled``, or how many of its jobs are done: ``2/3 done``."""
    if reservation.get("canceled_at"):
        return "canceled"
    jobs = reservation.get("jobs") or []
    assert isinstance(jobs, list)
    done = sum(1 for j in jobs if j.get("state") in ("completed", "failed", "canceled", "expired"))
    return f"{done}/{len(jobs)} done"


@reservations_app.command("list")
@friendly
def reservations_list(
    printer: Annotated[str | None, typer.Option("--printer", help="only at this printer")] = None,
    mine: Annotated[bool, typer.Option("--mine", help="only mine (administrators)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List your reservations (an administrator's: the organisation's)."""
    params = {k: v for k, v in {"printer_id": printer, "owner": "me" if mine else None}.items()
              if v}  # fmt: skip
    items = run(lambda c: c.pages("/v1/reservations", params))
    if as_json:
        print_json(items)
        return
    table = new_table("id", "printer", "deadline", "documents", "state", ids=("id", "printer"))
    for r in items:
        table.add_row(str(r.get("reservation_id")), str(r.get("printer_id")),
                      str(r.get("deadline")), str(len(r.get("jobs") or [])), _state(r))  # fmt: skip
    print_table(table)


@reservations_app.command("cancel")
@friendly
def reservations_cancel(
    reservation_id: Annotated[str, typer.Argument(help="the reservation's id")],
) -> None:
    """Cancel a reservation and its documents not printed yet."""
    answer = run(lambda c: c.request("DELETE", f"/v1/reservations/{reservation_id}"))
    jobs = answer.get("jobs") or []
    canceled = sum(1 for j in jobs if j.get("state") == "canceled")
    out.print(f"reservation {reservation_id} canceled ({canceled} of {len(jobs)} job(s) canceled)")
