"""``printcloud jobs``: list, show, cancel and watch your print jobs."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from client.api import (
    Client,
    CliError,
    run,
)
from client.output import (
    event_time,
    friendly,
    new_table,
    out,
    print_json,
    print_table,
    readable,
    short_value,
)

FINAL_STATES = frozenset({"completed", "failed", "canceled", "expired"})


jobs_app = typer.Typer(help="Your print jobs.", no_args_is_help=True)


def _job_row(job: dict[str, Any]) -> list[str]:
    where = job.get("printer_id") or job.get("virtual_printer_id")
    return [
        str(job.get("id") or job.get("job_id")),
        str(job.get("title") or "-"),
        str(job.get("state", "-")) + (f" ({job['hold_reason']})" if job.get("hold_reason") else ""),
        str(where or "-"),
        short_value(job.get("submitted_at") or job.get("created_at")),
    ]


@jobs_app.command("list")
@friendly
def jobs_list(
    state: Annotated[str | None, typer.Option(help="only jobs in this state")] = None,
    printer: Annotated[str | None, typer.Option("--printer", help="only at this printer")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List your jobs."""
    params = {k: v for k, v in {"state": state, "printer_id": printer}.items() if v}
    items = run(lambda c: c.pages("/v1/jobs", params))
    if as_json:
        print_json(items)
        return
    table = new_table("id", "title", "state", "printer", "submitted", ids=("id", "printer"))
    for job in items:
        table.add_row(*_job_row(job))
    print_table(table)


@jobs_app.command("show")
@friendly
def jobs_show(job_id: Annotated[str, typer.Argument(help="the job's id")]) -> None:
    """Show one job."""
    print_json(run(lambda c: c.request("GET", f"/v1/jobs/{job_id}")))


@jobs_app.command("cancel")
@friendly
def jobs_cancel(job_id: Annotated[str, typer.Argument(help="the job's id")]) -> None:
    """Cancel a job that has not printed yet."""
    job = run(lambda c: c.request("POST", f"/v1/jobs/{job_id}/cancel"))
    state = (job or {}).get("state", "canceled")
    out.print(f"job {job_id} {state}")


def state_of(data: dict[str, Any]) -> str | None:
    """The job state an event carries (``state``, or ``job.state``)."""
    state = data.get("state")
    if state is None and isinstance(data.get("job"), dict):
        state = data["job"].get("state")
    return str(state) if state is not None else None


def watch_line(name: str, data: dict[str, Any]) -> str:
    """One event as a person reads it: when it happened (the event's own time), what,
    the state, where, and the details in words."""
    state = state_of(data)
    printer = data.get("printer_id")
    detail = readable(data.get("reason") or data.get("detail"))
    return (
        f"{event_time(data.get('at'))} {name}"
        + (f" state={state}" if state else "")
        + (f" at printer {printer}" if printer else "")
        + (f": {detail}" if detail else "")
    )


@jobs_app.command("watch")
@friendly
def jobs_watch(
    job_id: Annotated[str, typer.Argument(help="the job's id")],
    as_json: Annotated[
        bool, typer.Option("--json", help="one JSON object per event and line")
    ] = False,
) -> None:
    """Follow a job's events until it completes, fails, is canceled or expires
    (exit code 0 when it completed, 2 otherwise)."""

    async def work(client: Client) -> str:
        async for name, data in client.events(f"/v1/jobs/{job_id}/events"):
            state = state_of(data)
            if as_json:
                out.file.write(json.dumps({"event": name, **data}) + "\n")
                out.file.flush()
            else:
                out.print(watch_line(name, data), highlight=False, soft_wrap=True)
            if state in FINAL_STATES:
                return state
        raise CliError("the event stream ended before the job finished")

    final = run(work)
    if final != "completed":
        raise typer.Exit(2)
