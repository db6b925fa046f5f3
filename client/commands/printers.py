"""``printcloud printers``: the printers (and virtual printers) you can print to,
and what a printer can do."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from client.api import (
    run,
)
from client.output import friendly, new_table, out, print_json, print_table

printers_app = typer.Typer(help="Printers you can print to.", no_args_is_help=True)


@printers_app.command("list")
@friendly
def printers_list(
    virtual: Annotated[bool, typer.Option(help="list virtual printers (pull print)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List your tenant's printers (or virtual printers)."""
    path = "/v1/virtual-printers" if virtual else "/v1/printers"
    items = run(lambda c: c.pages(path))
    if as_json:
        print_json(items)
        return
    if virtual:
        table = new_table("id", "name", "members")
        for vp in items:
            table.add_row(str(vp["id"]), vp["name"], str(len(vp.get("members", []))))
    else:
        table = new_table("id", "name", "model", "location", "state")
        for p in items:
            table.add_row(
                str(p["id"]),
                p["name"],
                p.get("model", ""),
                p.get("location") or "-",
                p.get("connection_state", "-"),
            )
    print_table(table)


@printers_app.command("capabilities")
@friendly
def printers_capabilities(
    printer_id: Annotated[str, typer.Argument(help="the printer's id")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """What a printer can do: formats, media, sides, colour, resolutions, copies."""
    answer = run(lambda c: c.request("GET", f"/v1/printers/{printer_id}/capabilities"))
    if as_json:
        print_json(answer)
        return
    caps = answer.get("capabilities", {})
    table = new_table(
        "setting", "supported", title=f"printer {printer_id} (version {answer.get('version')})"
    )

    def joined(key: str) -> str:
        return ", ".join(str(v) for v in caps.get(key, [])) or "-"

    copies = caps.get("copies_supported") or {}
    resolutions = ", ".join(
        f"{r['x']}x{r['y']} {r.get('units', 'dpi')}"
        for r in caps.get("printer_resolution_supported", [])
    )
    rows = [
        ("formats", joined("document_format_supported")),
        ("media (--media)", joined("media_supported")),
        ("default media", caps.get("media_default") or "-"),
        ("media types", joined("media_type_supported")),
        ("sides (--sides)", joined("sides_supported")),
        ("colour (--color-mode)", joined("print_color_mode_supported")),
        ("resolutions", resolutions or "-"),
        ("finishings", joined("finishings_supported")),
        ("copies (--copies)", f"{copies.get('min', 1)}-{copies.get('max', 1)}"),
        ("page ranges (--page-ranges)", "yes" if caps.get("page_ranges_supported") else "no"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    print_table(table)


def _sharing_path(printer_id: str, virtual: bool) -> str:
    kind = "virtual-printers" if virtual else "printers"
    return f"/v1/{kind}/{printer_id}/sharing"


def _show_sharing(answer: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(answer)
        return
    shared = answer["shared_with"]
    if shared["tenant"]:
        out.print("shared with: the whole tenant")
        return
    out.print(f"shared with users: {', '.join(shared['user_ids']) or '-'}")
    out.print(f"shared with groups: {', '.join(shared['group_ids']) or '-'}")


@printers_app.command("share")
@friendly
def printers_share(
    printer_id: Annotated[str, typer.Argument(help="the printer's (or virtual printer's) id")],
    user: Annotated[list[str], typer.Option("--user", help="a user's id (repeatable)")] = [],  # noqa: B006
    group: Annotated[list[str], typer.Option("--group", help="a group's id (repeatable)")] = [],  # noqa: B006
    tenant: Annotated[
        bool, typer.Option("--tenant", help="share with the whole tenant (the default)")
    ] = False,
    virtual: Annotated[bool, typer.Option(help="a virtual printer")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Share a printer with exactly these users and groups, or with the whole tenant
    (--tenant). Anyone else of the tenant but administrators no longer sees it."""
    if not (tenant or user or group):
        raise typer.BadParameter("name --user, --group or --tenant")
    body = {"tenant": tenant, "user_ids": user, "group_ids": group}
    path = _sharing_path(printer_id, virtual)
    _show_sharing(run(lambda c: c.request("PUT", path, json_body=body)), as_json)


@printers_app.command("sharing")
@friendly
def printers_sharing(
    printer_id: Annotated[str, typer.Argument(help="the printer's (or virtual printer's) id")],
    virtual: Annotated[bool, typer.Option(help="a virtual printer")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """With whom a printer is shared."""
    path = _sharing_path(printer_id, virtual)
    _show_sharing(run(lambda c: c.request("GET", path)), as_json)
