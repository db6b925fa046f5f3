"""Reservations (everyone's own) and the administrators' second set of pages: moving
printers, virtual printer members, consumables (supply levels and reorder rules), and
people's roles. A refusal the person can fix (the API's 409 or 422) shows the same page
again with the API's reason beside each field it names; any other refusal is a page of
its own. Every change goes through the public API as the signed-in person."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from services.portal.api.admin import administrator
from services.portal.api.context import api
from services.portal.api.render import page, redirect
from services.portal.api.security import PageError
from services.portal.api.views import FINAL_STATES, _get, _printers, path_id, refused, signed_in
from services.portal.upstream import ApiError, PrintcloudApi
from shared.http.middleware import public

FIXABLE = (409, 422)
"""API refusals shown beside the form's fields (the person can correct them)."""
RULE_KINDS = ("*", "toner", "ink", "drum", "waste", "fuser", "staples", "other")
RULE_COLOURS = ("*", "black", "cyan", "magenta", "yellow", "none", "other")
RULE_ACTIONS = ("warn", "order", "ignore")
ROLES = ("user", "admin")

Render = Callable[..., Awaitable[web.Response]]


def field_errors(exc: ApiError) -> dict[str, str]:
    """The API's reasons by field name (``errors[].field``); ``""`` is the form's own."""
    body = exc.body if isinstance(exc.body, dict) else {}
    found: dict[str, str] = {}
    for e in body.get("errors") or []:
        if isinstance(e, dict):  # members.3 is shown beside the members
            field, _, rest = str(e.get("field", "")).partition(".")
            reason = f"{rest}: {e.get('reason')}" if rest else str(e.get("reason", ""))
            found[field] = f"{found[field]}; {reason}" if field in found else reason
    detail = str(body.get("detail") or body.get("title") or "The request was refused.")
    return {"": detail + " Nothing was changed.", **found}


async def _changed(
    call: Awaitable[Any], again: Render, form_id: str, values: dict[str, Any], to: str
) -> web.Response:
    """Make the API call; then see ``to`` (post/redirect/get), or the page again with the
    API's reasons beside the fields of form ``form_id`` when it refused a fixable input."""
    try:
        await call
    except ApiError as exc:
        if exc.status not in FIXABLE:
            raise refused(exc) from None
        return await again(status=exc.status, form_id=form_id, errors=field_errors(exc),
                           values=values)  # fmt: skip
    return redirect(to)


def _text(form: Any, name: str, limit: int = 500) -> str:
    return str(form.get(name, "")).strip()[:limit]


def _int(form: Any, name: str) -> int | str:
    """A whole number from the form; unparsable text is passed on as it is, for the API
    to name the field."""
    text = _text(form, name, 20)
    try:
        return int(text)
    except ValueError:
        return text


def _is_htmx(request: web.Request) -> bool:
    return request.headers.get("HX-Request") == "true"


# --------------------------------------------------------------------------- reservations


async def _reservations_page(request: web.Request, status: int = 200, **extra: Any
                             ) -> web.Response:  # fmt: skip
    client = api(request, signed_in(request))
    body = await _get(client, "/v1/reservations", owner="me", limit=100)
    found = sorted(body.get("items", []), key=lambda r: r.get("created_at") or "", reverse=True)
    printers = await _printers(client)
    names = {p["id"]: p["name"] for p in printers}
    extra.setdefault("values", {"max_count": 10, "max_pages": 100, "hours": 8})
    return await page(request, "reservations.html", status=status, title="Reservations",
                      reservations=found, printers=printers, names=names, final=FINAL_STATES,
                      **extra)  # fmt: skip


@public
async def reservations(request: web.Request) -> web.Response:
    """GET /portal/reservations: my reservations and their documents; reserve a printer."""
    return await _reservations_page(request)


@public
async def reserve(request: web.Request) -> web.Response:
    """POST /portal/reservations: my kept documents queued at a printer until a deadline."""
    client = api(request, signed_in(request))
    form = await request.post()
    values = {k: _text(form, k, 100) for k in ("printer_id", "max_count", "max_pages", "hours")}
    hours = _int(form, "hours")
    if not isinstance(hours, int) or not 1 <= hours <= 168:
        return await _reservations_page(request, status=422, form_id="reserve", values=values,
                                        errors={"": "Nothing was changed.", "hours":
                                                "a whole number of hours, 1 to 168"})  # fmt: skip
    body = {
        "printer_id": values["printer_id"],
        "max_count": _int(form, "max_count"),
        "max_pages": _int(form, "max_pages"),
        "deadline": (datetime.now(UTC) + timedelta(hours=hours)).isoformat(),
    }
    call = client.post("/v1/reservations", body)
    return await _changed(call, lambda **kw: _reservations_page(request, **kw), "reserve", values,
                          "/portal/reservations?message=reservation-made")  # fmt: skip


@public
async def cancel_reservation(request: web.Request) -> web.Response:
    """POST /portal/reservations/{reservation_id}/cancel: it and its documents not
    printed yet. From htmx, the reservation's row alone comes back."""
    client = api(request, signed_in(request))
    reservation_id = path_id(request, "reservation_id")
    try:
        found = await client.delete(f"/v1/reservations/{reservation_id}")
    except ApiError as exc:
        raise refused(exc) from None
    if _is_htmx(request):
        names = {p["id"]: p["name"] for p in await _printers(client)}
        return await page(request, "_reservation_row.html", r=found, names=names,
                          final=FINAL_STATES)  # fmt: skip
    return redirect("/portal/reservations?message=reservation-canceled")


# --------------------------------------------------------------------------- printers


async def _printers_page(request: web.Request, status: int = 200, **extra: Any) -> web.Response:
    _, client = administrator(request)
    return await page(request, "admin/printers.html", status=status, title="Manage printers",
                      printers=await _printers(client), **extra)  # fmt: skip


@public
async def move(request: web.Request) -> web.Response:
    """POST /portal/admin/printers/{printer_id}/move: another region or location."""
    _, client = administrator(request)
    printer_id = path_id(request, "printer_id")
    await _get(client, f"/v1/printers/{printer_id}")  # foreign: 404 before anything
    form = await request.post()
    values = {"region": _text(form, "region", 100), "location": _text(form, "location")}
    body = {k: v for k, v in values.items() if v or k == "location"}  # no region: kept
    call = client.patch(f"/v1/printers/{printer_id}", body)
    return await _changed(call, lambda **kw: _printers_page(request, **kw), str(printer_id),
                          values, "/portal/admin/printers?message=printer-moved")  # fmt: skip


# --------------------------------------------------------------------------- virtual printers


async def _virtual_page(request: web.Request, status: int = 200, **extra: Any) -> web.Response:
    _, client = administrator(request)
    virtual = (await _get(client, "/v1/virtual-printers", limit=200)).get("items", [])
    return await page(request, "admin/virtual_printers.html", status=status,
                      title="Virtual printers", virtual_printers=virtual,
                      printers=await _printers(client), **extra)  # fmt: skip


@public
async def virtual_printers(request: web.Request) -> web.Response:
    """GET /portal/admin/virtual-printers: each pull-print queue and its member printers."""
    return await _virtual_page(request)


@public
async def set_members(request: web.Request) -> web.Response:
    """POST /portal/admin/virtual-printers/{virtual_printer_id}/members: the members
    ticked (the API refuses another tenant's printers by name)."""
    _, client = administrator(request)
    virtual_id = path_id(request, "virtual_printer_id")
    await _get(client, f"/v1/virtual-printers/{virtual_id}")  # foreign: 404 before anything
    form = await request.post()
    members = [str(m) for m in form.getall("member", [])][:500]
    call = client.patch(f"/v1/virtual-printers/{virtual_id}", {"members": members})
    return await _changed(call, lambda **kw: _virtual_page(request, **kw), str(virtual_id),
                          {"members": members},
                          "/portal/admin/virtual-printers?message=members-saved")  # fmt: skip


# --------------------------------------------------------------------------- consumables


async def _levels(client: PrintcloudApi, printer_id: str) -> list[dict[str, Any]]:
    try:
        body = await client.get("/v1/supply-levels", printer_id=printer_id)
    except ApiError as exc:
        if exc.status == 404:  # no supplies reported yet
            return []
        raise refused(exc) from None
    return list(body.get("levels") or body.get("items") or [])


async def _consumables_page(request: web.Request, status: int = 200, **extra: Any
                            ) -> web.Response:  # fmt: skip
    _, client = administrator(request)
    printers = await _printers(client)
    levels = [(p, await _levels(client, p["id"])) for p in printers]
    rules = (await _get(client, "/v1/supply-rules", limit=200)).get("items", [])
    extra.setdefault("values", {"region": "*", "model": "*", "threshold_percent": 10})
    return await page(request, "admin/consumables.html", status=status, title="Consumables",
                      levels=levels, rules=rules, kinds=RULE_KINDS, colours=RULE_COLOURS,
                      actions=RULE_ACTIONS, **extra)  # fmt: skip


@public
async def consumables(request: web.Request) -> web.Response:
    """GET /portal/admin/consumables: supply levels per printer and the reorder rules."""
    return await _consumables_page(request)


@public
async def add_rule(request: web.Request) -> web.Response:
    """POST /portal/admin/consumables/rules: a rule for the tenant."""
    _, client = administrator(request)
    form = await request.post()
    values = {k: _text(form, k, 100) for k in ("region", "model", "colour", "kind", "action")}
    body: dict[str, Any] = {**values, "threshold_percent": _int(form, "threshold_percent")}
    values["threshold_percent"] = _text(form, "threshold_percent", 20)
    call = client.post("/v1/supply-rules", body)
    return await _changed(call, lambda **kw: _consumables_page(request, **kw), "rule", values,
                          "/portal/admin/consumables?message=rule-added")  # fmt: skip


@public
async def change_rule(request: web.Request) -> web.Response:
    """POST /portal/admin/consumables/rules/{rule_id}: another threshold or action."""
    _, client = administrator(request)
    rule_id = path_id(request, "rule_id")
    await _get(client, f"/v1/supply-rules/{rule_id}")  # foreign: 404 before anything
    form = await request.post()
    body = {"threshold_percent": _int(form, "threshold_percent"), "action": _text(form, "action")}
    call = client.patch(f"/v1/supply-rules/{rule_id}", body)
    return await _changed(call, lambda **kw: _consumables_page(request, **kw), str(rule_id),
                          body, "/portal/admin/consumables?message=rule-changed")  # fmt: skip


@public
async def delete_rule(request: web.Request) -> web.Response:
    """POST /portal/admin/consumables/rules/{rule_id}/delete."""
    _, client = administrator(request)
    rule_id = path_id(request, "rule_id")
    try:
        await client.delete(f"/v1/supply-rules/{rule_id}")
    except ApiError as exc:
        raise refused(exc) from None
    return redirect("/portal/admin/consumables?message=rule-deleted")


# --------------------------------------------------------------------------- people


async def users_page(request: web.Request, status: int = 200, **extra: Any) -> web.Response:
    """The tenant's people, each with a form for their role and whether they may sign in."""
    _, client = administrator(request)
    people = (await _get(client, "/v1/users", limit=500)).get("items", [])
    return await page(request, "admin/users.html", status=status, title="Users", people=people,
                      roles=ROLES, **extra)  # fmt: skip


@public
async def change_user(request: web.Request) -> web.Response:
    """POST /portal/admin/users/{user_id}: their role (user or admin) and whether they
    are disabled."""
    session, client = administrator(request)
    user_id = path_id(request, "user_id")
    await _get(client, f"/v1/users/{user_id}")  # foreign: 404 before anything
    form = await request.post()
    role = _text(form, "role", 20)
    if role not in ROLES:
        raise PageError(422, "Choose the role user or admin; nothing was changed.")
    disabled = form.get("disabled") == "on"
    if user_id == session.user_id and (disabled or role != "admin"):
        return await users_page(request, status=422, form_id=str(user_id), values={}, errors={
            "": "You cannot take away your own administration or disable yourself; nothing "
            "was changed."})  # fmt: skip
    call = client.patch(f"/v1/users/{user_id}", {"roles": [role], "disabled": disabled})
    return await _changed(call, lambda **kw: users_page(request, **kw), str(user_id),
                          {"role": role, "disabled": disabled},
                          "/portal/admin/users?message=user-changed")  # fmt: skip
