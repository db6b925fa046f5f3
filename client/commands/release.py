"""``printcloud release``: release held jobs (pull print) at a printer."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from client.api import (
    CliError,
    run,
)
from client.output import out


def release(
    printer: Annotated[str, typer.Option("--printer", help="the printer to print at")],
    job: Annotated[list[str] | None, typer.Option("--job", help="a held job's id (repeat)")] = None,
    all_jobs: Annotated[bool, typer.Option("--all", help="every job you hold")] = False,
) -> None:
    """Release held jobs (pull print) at a printer."""
    if bool(job) == all_jobs:
        raise CliError("give --job (one or more) or --all")
    body: dict[str, Any] = {"all": True} if all_jobs else {"job_ids": job}
    answer = run(lambda c: c.request("POST", f"/v1/printers/{printer}/release", json_body=body))
    released = (answer or {}).get("released", (answer or {}).get("items", []))
    if isinstance(released, list):
        for item in released:
            ident = (item.get("id") or item.get("job_id")) if isinstance(item, dict) else item
            out.print(f"released {ident}")
        out.print(f"{len(released)} job(s) released at {printer}")
    else:
        out.print_json(json.dumps(answer))
