"""``printcloud reservations``: reserved printing of your kept documents at a printer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from client.api import (
    CliError,
    run,
)
from client.output import friendly, out

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
