"""``printcloud release``: release held jobs (pull print) at a printer."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from client.api import Client, CliError, run
from client.output import out, print_json

WAITING = frozenset({"pending", "held", "queued"})


def nothing_released(printer: str, jobs: list[dict[str, Any]]) -> str:
    """Why ``release`` released nothing and what to do, from the caller's jobs."""
    secure = [
        j
        for j in jobs
        if j.get("release") == "secure"
        and j.get("state") in WAITING
        and str(j.get("printer_id")) == printer
    ]
    pull = [j for j in jobs if j.get("virtual_printer_id") and j.get("state") == "held"]
    lines = []
    if secure:
        lines.append(
            f"{len(secure)} secure job(s) (printed with --secure) wait at printer {printer} "
            "for you to log in there: at its panel, or with your phone key "
            "(`printcloud phone approve`). `release` does not print secure jobs; the login "
            "at the printer does."
        )
    if pull:
        lines.append(
            f"{len(pull)} pull job(s) are held on a virtual printer this printer is not a "
            "member of: `printcloud printers list --virtual` shows the members; release them "
            "at one of those printers."
        )
    if not lines:
        lines.append(
            "you have no job waiting for release. `release` prints jobs sent to a virtual "
            "printer (`printcloud print FILE --virtual-printer ID`) at a member printer; "
            "`printcloud jobs list --state held` shows what is held."
        )
    return "\n".join(lines)


def release(
    printer: Annotated[str, typer.Option("--printer", help="the printer to print at")],
    job: Annotated[list[str] | None, typer.Option("--job", help="a held job's id (repeat)")] = None,
    all_jobs: Annotated[bool, typer.Option("--all", help="every job you hold")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="print the released jobs as JSON")
    ] = False,
) -> None:
    """Release held jobs (pull print) at a printer."""
    if bool(job) == all_jobs:
        raise CliError(
            "give --job (one or more) or --all: `printcloud jobs list --state held` shows "
            "your held jobs"
        )
    body: dict[str, Any] = {"all": True} if all_jobs else {"job_ids": job}

    async def work(client: Client) -> tuple[Any, list[dict[str, Any]]]:
        answer = await client.request("POST", f"/v1/printers/{printer}/release", json_body=body)
        released = (answer or {}).get("released", (answer or {}).get("items", []))
        if as_json or not isinstance(released, list) or released:
            return answer, []
        try:  # why nothing: the caller's jobs, when the token may read them
            return answer, await client.pages("/v1/jobs")
        except CliError:
            return answer, []

    answer, jobs = run(work)
    released = (answer or {}).get("released", (answer or {}).get("items", []))
    if as_json or not isinstance(released, list):
        print_json(answer)
        return
    for item in released:
        ident = (item.get("id") or item.get("job_id")) if isinstance(item, dict) else item
        out.print(f"released {ident}", highlight=False)
    out.print(f"{len(released)} job(s) released at {printer}", highlight=False)
    if not released:
        out.print(nothing_released(printer, jobs), highlight=False, soft_wrap=True)
