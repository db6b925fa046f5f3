"""``printcloud usage``: the tenant's printing usage for accounting (administrators)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal

import typer

from client.api import CliError, run
from client.output import friendly, new_table, out, print_json, print_table

usage_app = typer.Typer(
    help="Printing usage for accounting (administrators).", no_args_is_help=True
)


@usage_app.command("export")
@friendly
def usage_export(
    month: Annotated[str, typer.Option(help="the month, YYYY-MM (UTC)")],
    fmt: Annotated[Literal["table", "csv", "json"], typer.Option("--format")] = "table",
    output: Annotated[Path | None, typer.Option(help="write to this file")] = None,
) -> None:
    """A month's usage of the tenant, per user and per printer."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise CliError(f"--month {month!r} is not YYYY-MM, e.g. 2026-11")
    path = "/v1/usage/export"
    if fmt == "csv":
        text = run(lambda c: c.text(path, params={"month": month, "format": "csv"}))
        if output is not None:
            output.write_text(text)
            out.print(f"written {output}")
        else:
            out.file.write(text)
        return
    answer = run(lambda c: c.request("GET", path, params={"month": month}))
    if fmt == "json" or output is not None:
        if output is not None:
            output.write_text(json.dumps(answer, indent=2) + "\n")
            out.print(f"written {output}")
        else:
            print_json(answer)
        return
    table = new_table("dimension", "subject", "jobs", "pages", "colour", "mono", "sheets",
                      "duplex sheets", ids=("subject",))  # fmt: skip
    for r in answer["rows"]:
        table.add_row(r["dimension"], r["subject_id"], str(r["jobs"]), str(r["pages"]),
                      str(r["colour_pages"]), str(r["mono_pages"]), str(r["sheets"]),
                      str(r["duplex_sheets"]))  # fmt: skip
    print_table(table)
