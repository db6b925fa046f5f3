"""Thin HTTP views: parse, authorise, call a handler, shape the answer."""

from __future__ import annotations

from aiohttp import web

from services.counters.api.context import (
    ADMIN_READ,
    ADMIN_WRITE,
    PRINTERS_READ,
    USAGE_READ,
    export_tenant,
    quota_tenant,
    transactions,
    usage_subject,
)
from services.counters.api.shapes import (
    counter_json,
    export_csv,
    export_row,
    quota_json,
    window_json,
)
from services.counters.domain.commands import (
    AddOverride,
    CreateQuota,
    QuotaPage,
    UpdateQuota,
    UsageExportQuery,
    UsageQuery,
)
from services.counters.handlers import quotas, readings
from services.counters.handlers import usage as usage_handlers
from shared.errors import FieldError, NotFound
from shared.http.body import parse_json, path_uuid, query_model
from shared.http.middleware import caller


async def create_quota(request: web.Request) -> web.Response:
    """POST /v1/quotas (admins)."""
    who = caller(request, ADMIN_WRITE, "admin")
    cmd = await parse_json(request, CreateQuota)
    tenant_id = quota_tenant(who, cmd.tenant_id)
    quota = await quotas.create_quota(transactions(request), cmd, tenant_id)
    return web.json_response(
        quota_json(quota), status=201, headers={"Location": f"/v1/quotas/{quota.id}"}
    )


async def list_quotas(request: web.Request) -> web.Response:
    """GET /v1/quotas: the caller's tenant (operators: all, or ?tenant_id=)."""
    who = caller(request, ADMIN_READ, "admin")
    page = query_model(request, QuotaPage)
    tenant_id = who.tenant_scope() or page.tenant_id
    if page.tenant_id is not None and page.tenant_id != tenant_id:
        raise NotFound("no such tenant", [FieldError("tenant_id", "unknown tenant")])
    items = await quotas.list_quotas(transactions(request), tenant_id, page.after, page.limit)
    return web.json_response({
        "items": [quota_json(q) for q in items],
        "next_after": str(items[-1].id) if len(items) == page.limit else None,
    })  # fmt: skip


async def get_quota(request: web.Request) -> web.Response:
    """GET /v1/quotas/{quota_id} (admins)."""
    who = caller(request, ADMIN_READ, "admin")
    quota_id = path_uuid(request, "quota_id")
    quota = await quotas.get_quota(transactions(request), quota_id, who)
    return web.json_response(quota_json(quota))


async def update_quota(request: web.Request) -> web.Response:
    """PATCH /v1/quotas/{quota_id} (admins)."""
    who = caller(request, ADMIN_WRITE, "admin")
    quota_id = path_uuid(request, "quota_id")
    cmd = await parse_json(request, UpdateQuota)
    quota = await quotas.update_quota(transactions(request), quota_id, cmd, who)
    return web.json_response(quota_json(quota))


async def delete_quota(request: web.Request) -> web.Response:
    """DELETE /v1/quotas/{quota_id} (admins)."""
    who = caller(request, ADMIN_WRITE, "admin")
    quota_id = path_uuid(request, "quota_id")
    await quotas.delete_quota(transactions(request), quota_id, who)
    return web.Response(status=204)


async def add_override(request: web.Request) -> web.Response:
    """POST /v1/quotas/{quota_id}/overrides (admins)."""
    who = caller(request, ADMIN_WRITE, "admin")
    quota_id = path_uuid(request, "quota_id")
    cmd = await parse_json(request, AddOverride)
    quota = await quotas.add_override(transactions(request), quota_id, cmd, who)
    return web.json_response(quota_json(quota), status=201)


async def usage(request: web.Request) -> web.Response:
    """GET /v1/usage: pages, colour pages and jobs per window."""
    who = caller(request, USAGE_READ)
    q = query_model(request, UsageQuery)
    tenant_id, dimension, subject = usage_subject(who, q)
    start, end = q.bounds()
    windows = await usage_handlers.usage_windows(
        transactions(request), tenant_id=tenant_id, granularity=q.granularity,
        dimension=dimension, subject_id=subject, start=start, end=end, limit=q.limit,
    )  # fmt: skip
    return web.json_response({
        "tenant_id": str(tenant_id),
        "granularity": q.granularity,
        "dimension": dimension,
        "subject_id": str(subject),
        "items": [window_json(w) for w in windows],
    })  # fmt: skip


async def usage_export(request: web.Request) -> web.Response:
    """GET /v1/usage/export: a month per user and per printer, as JSON or CSV."""
    who = caller(request, USAGE_READ, "admin")
    q = query_model(request, UsageExportQuery)
    tenant_id = export_tenant(who, q.tenant_id)
    windows = await usage_handlers.month_export(transactions(request), tenant_id, q.start())
    rows = [export_row(w) for w in windows]
    if q.format == "csv":
        return web.Response(
            text=export_csv(rows), content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="usage-{q.month}.csv"'},
        )  # fmt: skip
    return web.json_response({"tenant_id": str(tenant_id), "month": q.month, "rows": rows})


async def printer_counters(request: web.Request) -> web.Response:
    """GET /v1/counters/{printer_id}: the counters kept for a printer."""
    who = caller(request, PRINTERS_READ)
    printer_id = path_uuid(request, "printer_id")
    kept = await readings.printer_counters(transactions(request), printer_id)
    if not kept or not who.can_access(kept[0].tenant_id):
        raise NotFound("no counters for this printer")
    return web.json_response({
        "printer_id": str(printer_id),
        "counters": [counter_json(c) for c in kept],
    })  # fmt: skip
