"""``printcloud webhooks``: the tenant's webhook endpoints, their secrets and delivery
logs (tenant administrators)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from client.api import run
from client.output import friendly, new_table, out, print_json, print_table

webhooks_app = typer.Typer(
    help="Webhook endpoints: subscribe URLs to events (tenant administrators).",
    no_args_is_help=True,
)
BASE = "/v1/webhook-endpoints"


def _show(endpoint: dict[str, Any]) -> None:
    state = "enabled" if endpoint["enabled"] else f"disabled: {endpoint['disabled_reason']}"
    out.print(f"endpoint {endpoint['id']}  {endpoint['url']}  ({state})")
    out.print(f"  events: {', '.join(endpoint['event_types'])}")
    for name in ("printer_ids", "user_ids", "token_ids"):
        if endpoint.get(name):
            out.print(f"  {name.removesuffix('_ids')}s: {', '.join(endpoint[name])}")


@webhooks_app.command("create")
@friendly
def webhooks_create(
    url: Annotated[str, typer.Argument(help="the https URL to call")],
    event: Annotated[
        list[str], typer.Option("--event", help="an event type, 'job.*' or '*' (repeatable)")
    ],
    printer: Annotated[list[str], typer.Option("--printer", help="only this printer")] = [],  # noqa: B006
    user: Annotated[list[str], typer.Option("--user", help="only this user's jobs")] = [],  # noqa: B006
    token: Annotated[
        list[str], typer.Option("--token", help="only jobs submitted with this API token")
    ] = [],  # noqa: B006
    description: Annotated[str, typer.Option(help="what it is for")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Subscribe a URL to event types; shows its signing secret, once."""
    body = {"url": url, "event_types": event, "printer_ids": printer, "user_ids": user,
            "token_ids": token, "description": description}  # fmt: skip
    created = run(lambda c: c.request("POST", BASE, json_body=body))
    if as_json:
        print_json(created)
        return
    _show(created)
    out.print(f"  secret (shown once, store it): {created['secret']}")


@webhooks_app.command("list")
@friendly
def webhooks_list(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """List the tenant's endpoints."""
    items = run(lambda c: c.pages(BASE))
    if as_json:
        print_json(items)
        return
    table = new_table("id", "url", "events", "state", "failures")
    for e in items:
        state = "enabled" if e["enabled"] else "disabled"
        table.add_row(e["id"], e["url"], ", ".join(e["event_types"]), state,
                      str(e["consecutive_failures"]))  # fmt: skip
    print_table(table)


def _set_enabled(endpoint_id: str, enabled: bool) -> None:
    changed = run(
        lambda c: c.request("PATCH", f"{BASE}/{endpoint_id}", json_body={"enabled": enabled})
    )
    _show(changed)


@webhooks_app.command("enable")
@friendly
def webhooks_enable(endpoint_id: str) -> None:
    """Switch an endpoint on again (its waiting deliveries resume)."""
    _set_enabled(endpoint_id, True)


@webhooks_app.command("disable")
@friendly
def webhooks_disable(endpoint_id: str) -> None:
    """Switch an endpoint off (deliveries wait)."""
    _set_enabled(endpoint_id, False)


@webhooks_app.command("delete")
@friendly
def webhooks_delete(endpoint_id: str) -> None:
    """Delete an endpoint and its delivery log."""
    run(lambda c: c.request("DELETE", f"{BASE}/{endpoint_id}"))
    out.print(f"endpoint {endpoint_id} deleted")


@webhooks_app.command("rotate-secret")
@friendly
def webhooks_rotate(
    endpoint_id: str,
    overlap: Annotated[
        int | None, typer.Option(help="seconds the old secret keeps signing (default 86400)")
    ] = None,
) -> None:
    """A new signing secret; the old one signs too until the overlap ends."""
    body = {} if overlap is None else {"overlap_s": overlap}
    answer = run(lambda c: c.request("POST", f"{BASE}/{endpoint_id}/secret/rotate", json_body=body))
    out.print(f"new secret (shown once, store it): {answer['secret']}")
    out.print(f"the previous secret signs until {answer['previous_until']}")


@webhooks_app.command("deliveries")
@friendly
def webhooks_deliveries(
    endpoint_id: str,
    state: Annotated[str | None, typer.Option(help="pending, succeeded or failed")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """An endpoint's delivery log, newest first."""
    params = {"limit": str(limit), **({"state": state} if state else {})}
    page = run(lambda c: c.request("GET", f"{BASE}/{endpoint_id}/deliveries", params=params))
    items = page["items"]
    if as_json:
        print_json(items)
        return
    table = new_table("id", "event", "state", "attempts", "status", "ms", "last error",
                      ids=("id",))  # fmt: skip
    for d in items:
        table.add_row(str(d["id"]), d["event_type"], d["state"], str(d["attempts"]),
                      str(d["last_status"] or ""), str(d["last_latency_ms"] or ""),
                      d["last_error"] or "")  # fmt: skip
    print_table(table)


@webhooks_app.command("redeliver")
@friendly
def webhooks_redeliver(endpoint_id: str, delivery_id: int) -> None:
    """Send a delivery's message again (same webhook-id)."""
    path = f"{BASE}/{endpoint_id}/deliveries/{delivery_id}/redeliver"
    queued = run(lambda c: c.request("POST", path))
    out.print(f"queued again as delivery {queued['id']} (webhook-id {queued['webhook_id']})")
