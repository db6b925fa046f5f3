"""``printcloud policies``: the tenant's print policies (tenant administrators): rules
every job is judged by, per tenant, group or printer, versioned."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from client.api import run
from client.output import friendly, new_table, out, print_json, print_table

policies_app = typer.Typer(
    help="Print policies: force duplex or monochrome, limit copies and pages, allowed hours, "
    "colour released at the printer, document types (tenant administrators).",
    no_args_is_help=True,
)
BASE = "/v1/policies"


def _where(p: dict[str, Any]) -> str:
    if p["scope"] == "group":
        return f"group {p['group_id']}"
    if p["scope"] == "printer":
        return f"printer {p['printer_id']}"
    return "tenant"


def _rules_text(rules: dict[str, Any]) -> str:
    said = []
    for name, value in rules.items():
        if value is None:
            continue
        if name == "allowed_hours":
            days = ",".join(value["days"])
            value = f"{days} {value['start'][:5]}-{value['end'][:5]} {value['timezone']}"
        elif isinstance(value, list):
            value = ",".join(value)
        said.append(f"{name}={value}")
    return "; ".join(said)


def _show(p: dict[str, Any]) -> None:
    out.print(f"policy {p['policy_id']}  '{p['name']}'  ({_where(p)}, revision {p['revision']})")
    out.print(f"  rules: {_rules_text(p['rules'])}")
    if "version" in p:
        out.print(f"  the tenant's policies are now at version {p['version']}")


def _body(
    name: str,
    group: str | None,
    printer: str | None,
    rules: dict[str, Any],
) -> dict[str, Any]:
    if group and printer:
        raise typer.BadParameter("a policy is for a group or a printer, not both")
    scope = "group" if group else "printer" if printer else "tenant"
    body: dict[str, Any] = {"name": name, "scope": scope, "rules": rules}
    if group:
        body["group_id"] = group
    if printer:
        body["printer_id"] = printer
    return body


def _rules(
    force_duplex: bool | None,
    force_monochrome: bool | None,
    max_copies: int | None,
    max_pages: int | None,
    colour_at_printer: bool | None,
    document_format: list[str],
    hours_from: str | None,
    hours_to: str | None,
    timezone: str | None,
    days: str | None,
) -> dict[str, Any]:
    rules: dict[str, Any] = {
        "force_duplex": force_duplex, "force_monochrome": force_monochrome,
        "max_copies": max_copies, "max_pages": max_pages,
        "colour_release_at_printer": colour_at_printer,
        "document_formats": document_format or None,
    }  # fmt: skip
    if hours_from or hours_to or timezone or days:
        hours: dict[str, Any] = {"start": hours_from, "end": hours_to, "timezone": timezone}
        if days:
            hours["days"] = [d.strip() for d in days.split(",") if d.strip()]
        rules["allowed_hours"] = hours
    return {k: v for k, v in rules.items() if v is not None}


ForceDuplex = Annotated[
    bool | None, typer.Option("--force-duplex/--no-force-duplex", help="one-sided becomes duplex")
]
ForceMono = Annotated[
    bool | None,
    typer.Option("--force-monochrome/--allow-colour",
                 help="print in monochrome (--allow-colour: lift a broader policy's)"),
]  # fmt: skip
MaxCopies = Annotated[int | None, typer.Option(min=1, help="more copies are lowered to this")]
MaxPages = Annotated[int | None, typer.Option(min=1, help="longer jobs are refused")]
ColourAtPrinter = Annotated[
    bool | None,
    typer.Option("--colour-at-printer/--colour-direct",
                 help="colour jobs wait for their owner to log in at the printer"),
]  # fmt: skip
Formats = Annotated[
    list[str], typer.Option("--format", help="an allowed document type, MIME (repeatable)")
]
HoursFrom = Annotated[str | None, typer.Option(help="allowed hours start, HH:MM local")]
HoursTo = Annotated[str | None, typer.Option(help="allowed hours end, HH:MM local")]
Timezone = Annotated[str | None, typer.Option(help="allowed hours time zone, e.g. Europe/Paris")]
Days = Annotated[str | None, typer.Option(help="allowed days, e.g. mon,tue,wed,thu,fri")]
Group = Annotated[str | None, typer.Option(help="for the members of this group")]
Printer = Annotated[str | None, typer.Option(help="for the jobs of this printer")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]


@policies_app.command("create")
@friendly
def policies_create(
    name: Annotated[str, typer.Argument(help="unique in the tenant")],
    group: Group = None,
    printer: Printer = None,
    force_duplex: ForceDuplex = None,
    force_monochrome: ForceMono = None,
    max_copies: MaxCopies = None,
    max_pages: MaxPages = None,
    colour_at_printer: ColourAtPrinter = None,
    document_format: Formats = [],  # noqa: B006
    hours_from: HoursFrom = None,
    hours_to: HoursTo = None,
    timezone: Timezone = None,
    days: Days = None,
    as_json: AsJson = False,
) -> None:
    """Create a policy for the tenant (default), a group or a printer."""
    rules = _rules(force_duplex, force_monochrome, max_copies, max_pages, colour_at_printer,
                   document_format, hours_from, hours_to, timezone, days)  # fmt: skip
    body = _body(name, group, printer, rules)
    created = run(lambda c: c.request("POST", BASE, json_body=body))
    print_json(created) if as_json else _show(created)


@policies_app.command("update")
@friendly
def policies_update(
    policy_id: str,
    name: Annotated[str, typer.Option(help="the policy's (new) name")],
    group: Group = None,
    printer: Printer = None,
    force_duplex: ForceDuplex = None,
    force_monochrome: ForceMono = None,
    max_copies: MaxCopies = None,
    max_pages: MaxPages = None,
    colour_at_printer: ColourAtPrinter = None,
    document_format: Formats = [],  # noqa: B006
    hours_from: HoursFrom = None,
    hours_to: HoursTo = None,
    timezone: Timezone = None,
    days: Days = None,
    as_json: AsJson = False,
) -> None:
    """Replace a policy with the rules given (a new revision; queued jobs keep theirs)."""
    rules = _rules(force_duplex, force_monochrome, max_copies, max_pages, colour_at_printer,
                   document_format, hours_from, hours_to, timezone, days)  # fmt: skip
    body = _body(name, group, printer, rules)
    saved = run(lambda c: c.request("PUT", f"{BASE}/{policy_id}", json_body=body))
    print_json(saved) if as_json else _show(saved)


@policies_app.command("list")
@friendly
def policies_list(
    version: Annotated[
        int | None, typer.Option(min=0, help="as they stood at this version")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The tenant's policies and their version (or those of an earlier version)."""
    params = {} if version is None else {"version": str(version)}
    answer = run(lambda c: c.request("GET", BASE, params=params))
    if as_json:
        print_json(answer)
        return
    out.print(f"policy version {answer['version']}")
    table = new_table("id", "name", "applies to", "rev", "rules")
    for p in answer["policies"]:
        table.add_row(p["policy_id"], p["name"], _where(p), str(p["revision"]),
                      _rules_text(p["rules"]))  # fmt: skip
    print_table(table)


@policies_app.command("show")
@friendly
def policies_show(policy_id: str, as_json: AsJson = False) -> None:
    """One policy."""
    found = run(lambda c: c.request("GET", f"{BASE}/{policy_id}"))
    print_json(found) if as_json else _show(found)


@policies_app.command("delete")
@friendly
def policies_delete(policy_id: str) -> None:
    """Delete a policy: new jobs are no longer judged by it."""
    run(lambda c: c.request("DELETE", f"{BASE}/{policy_id}"))
    out.print(f"policy {policy_id} deleted")
