"""The administrators' pages: dashboard, printers (claim by code or from a registration
sheet, rename), quotas,
users, usage with CSV export. Each needs the ``admin`` role in the session (the API
checks it again: the page only saves a refused round trip)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from services.portal.api.context import api
from services.portal.api.render import page, redirect
from services.portal.api.security import PageError
from services.portal.api.views import _get, _printers, path_id, refused, signed_in
from services.portal.domain.model import Session
from services.portal.upstream import ApiError, PrintcloudApi
from shared.http.middleware import public

METRICS = ("pages", "colour_pages")
PERIODS = ("day", "week", "month", "year")


def administrator(request: web.Request) -> tuple[Session, PrintcloudApi]:
    """The session of an administrator and the API as them; 403 otherwise."""
    session = signed_in(request)
    if not session.is_admin:
        raise PageError(403, "Only administrators of the tenant may open this page.")
    return session, api(request, session)


@public
async def dashboard(request: web.Request) -> web.Response:
    """GET /portal/admin: printers online and offline, jobs today, supply alerts and
    quotas over their limit."""
    _, client = administrator(request)
    found = await _printers(client)
    states = {s: sum(1 for p in found if p.get("connection_state") == s)
              for s in ("online", "offline", "unknown")}  # fmt: skip
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    usage = await _get(client, "/v1/usage", granularity="day", **{"from": today.isoformat()})
    jobs_today = sum(w.get("jobs", 0) for w in usage.get("items", []))
    pages_today = sum(w.get("pages", 0) for w in usage.get("items", []))
    try:
        levels = (await client.get("/v1/supply-levels")).get("items", [])
    except ApiError:
        levels = []
    low = [lv for lv in levels if lv.get("low_since")]
    quotas = (await _get(client, "/v1/quotas")).get("items", [])
    exceeded = [q for q in quotas if q.get("exceeded")]
    return await page(request, "admin/dashboard.html", title="Dashboard", states=states,
                      jobs_today=jobs_today, pages_today=pages_today, low=low,
                      exceeded=exceeded)  # fmt: skip


@public
async def printers(request: web.Request) -> web.Response:
    """GET /portal/admin/printers: the tenant's printers; claim one; rename."""
    _, client = administrator(request)
    return await page(request, "admin/printers.html", title="Manage printers",
                      printers=await _printers(client))  # fmt: skip


def _field(form: Any, name: str, label: str, max_len: int = 200) -> str:
    value = str(form.get(name, "")).strip()
    if not value or len(value) > max_len:
        raise PageError(422, f"{label} is required (at most {max_len} characters); nothing "
                        "was changed.")  # fmt: skip
    return value


@public
async def claim(request: web.Request) -> web.Response:
    """POST /portal/admin/printers/claim: claim a waiting printer by its code."""
    _, client = administrator(request)
    form = await request.post()
    body = {
        "claim_code": _field(form, "claim_code", "The registration code", 32),
        "name": _field(form, "name", "The printer's name"),
        "region": _field(form, "region", "The region", 64),
    }
    if str(form.get("location", "")).strip():
        body["location"] = str(form["location"]).strip()[:500]
    try:
        await client.post("/v1/registrations/claim", body)
    except ApiError as exc:
        raise refused(exc) from None
    return redirect("/portal/admin/printers?message=printer-claimed")


@public
async def relay(request: web.Request) -> web.Response:
    """POST /portal/admin/printers/relay: add a printer that cannot reach the cloud from
    its registration sheet (the QR code's content, pasted or scanned)."""
    _, client = administrator(request)
    form = await request.post()
    body = {
        "sheet": _field(form, "sheet", "The registration sheet", 4000),
        "name": _field(form, "name", "The printer's name"),
        "region": _field(form, "region", "The region", 64),
    }
    if str(form.get("location", "")).strip():
        body["location"] = str(form["location"]).strip()[:500]
    try:
        await client.post("/v1/registrations/relay", body)
    except ApiError as exc:
        raise refused(exc) from None
    return redirect("/portal/admin/printers?message=printer-relayed")


@public
async def rename(request: web.Request) -> web.Response:
    """POST /portal/admin/printers/{printer_id}/rename."""
    _, client = administrator(request)
    printer_id = path_id(request, "printer_id")
    name = _field(await request.post(), "name", "The printer's name")
    try:
        await client.call("PATCH", f"/v1/printers/{printer_id}", json={"name": name})
    except ApiError as exc:
        raise refused(exc) from None
    return redirect("/portal/admin/printers?message=printer-renamed")


async def _people(client: PrintcloudApi) -> list[dict[str, Any]]:
    return list((await _get(client, "/v1/users", limit=500)).get("items", []))


@public
async def quotas(request: web.Request) -> web.Response:
    """GET /portal/admin/quotas: the tenant's quotas and their use; add one."""
    _, client = administrator(request)
    found = (await _get(client, "/v1/quotas")).get("items", [])
    people = await _people(client)
    names = {u["id"]: u.get("display_name") or u.get("email") for u in people}
    return await page(request, "admin/quotas.html", title="Quotas", quotas=found, names=names,
                      people=people, metrics=METRICS, periods=PERIODS)  # fmt: skip


@public
async def set_quota(request: web.Request) -> web.Response:
    """POST /portal/admin/quotas: a quota for the tenant or one person."""
    _, client = administrator(request)
    form = await request.post()
    subject = str(form.get("subject", "tenant"))
    metric, period = str(form.get("metric", "")), str(form.get("period", ""))
    if metric not in METRICS or period not in PERIODS:
        raise PageError(422, "Choose what to count and the period; nothing was changed.")
    try:
        limit = int(str(form.get("limit", "")))
        if limit < 0:
            raise ValueError(limit)
    except ValueError:
        raise PageError(422, "The limit is a whole number of pages, 0 or more; nothing was "
                        "changed.") from None  # fmt: skip
    body: dict[str, Any] = {
        "metric": metric,
        "period": period,
        "limit": limit,
        "policy": "warn" if form.get("policy") == "warn" else "hold",
    }
    if subject == "tenant":
        body["subject_kind"] = "tenant"
    else:
        try:
            body.update(subject_kind="user", subject_id=str(uuid.UUID(subject)))
        except ValueError:
            raise PageError(422, "Choose the tenant or a person; nothing was changed.") from None
    try:
        await client.post("/v1/quotas", body)
    except ApiError as exc:
        raise refused(exc) from None
    return redirect("/portal/admin/quotas?message=quota-set")


@public
async def users(request: web.Request) -> web.Response:
    """GET /portal/admin/users: the tenant's people and their roles."""
    _, client = administrator(request)
    return await page(request, "admin/users.html", title="Users", people=await _people(client))


async def _usage(request: web.Request) -> tuple[str, list[dict[str, Any]]]:
    _, client = administrator(request)
    granularity = request.query.get("granularity", "day")
    if granularity not in ("hour", "day", "month"):
        raise PageError(422, "The period is hour, day or month.")
    since = datetime.now(UTC) - {"hour": timedelta(days=2), "day": timedelta(days=31),
                                 "month": timedelta(days=366)}[granularity]  # fmt: skip
    body = await _get(client, "/v1/usage", granularity=granularity, **{"from": since.isoformat()})
    return granularity, list(body.get("items", []))


@public
async def usage(request: web.Request) -> web.Response:
    """GET /portal/admin/usage: the tenant's usage per hour, day or month."""
    granularity, windows = await _usage(request)
    peak = max([w.get("pages", 0) for w in windows] or [0]) or 1
    return await page(request, "admin/usage.html", title="Usage", granularity=granularity,
                      windows=windows, peak=peak)  # fmt: skip


@public
async def usage_csv(request: web.Request) -> web.Response:
    """GET /portal/admin/usage.csv: the same windows as CSV."""
    granularity, windows = await _usage(request)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["window_start", "window_end", "jobs", "pages", "colour_pages"])
    for w in windows:
        writer.writerow([w.get("window_start"), w.get("window_end"), w.get("jobs"),
                         w.get("pages"), w.get("colour_pages")])  # fmt: skip
    return web.Response(
        text=out.getvalue(), content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="usage-{granularity}.csv"'},
    )  # fmt: skip
