"""Thin HTTP views: parse, authorise, call a handler, shape the answer."""

from __future__ import annotations

from aiohttp import web

from services.counters import repository as repo
from services.counters.api.context import (
    ADMIN_READ,
    ADMIN_WRITE,
    CONTEXT,
    PRINTERS_READ,
    USAGE_READ,
    usage_subject,
)
from services.counters.domain.commands import (
    AddOverride,
    CreateQuota,
    QuotaPage,
    UpdateQuota,
    UsageQuery,
)
from services.counters.domain.errors import QuotaNotFound
from services.counters.handlers import quotas
from services.counters.handlers.quotas import quota_json
from shared.errors import FieldError, NotFound
from shared.http.body import parse_json, path_uuid, query_model
from shared.http.middleware import caller


async def create_quota(request: web.Request) -> web.Response:
    """POST /v1/quotas (admins)."""
    who = caller(request, ADMIN_WRITE, "admin")
    cmd = await parse_json(request, CreateQuota)
    quota = await quotas.create_quota(CONTEXT.pool(request), cmd, who, CONTEXT.emitter(request))
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
    async with CONTEXT.pool(request).acquire() as conn:
        items = await repo.list_quotas(
            conn, tenant_id=tenant_id, after=page.after, limit=page.limit
        )
    return web.json_response({
        "items": [quota_json(q) for q in items],
        "next_after": str(items[-1].id) if len(items) == page.limit else None,
    })  # fmt: skip


async def get_quota(request: web.Request) -> web.Response:
    """GET /v1/quotas/{quota_id} (admins)."""
    who = caller(request, ADMIN_READ, "admin")
    quota_id = path_uuid(request, "quota_id")
    async with CONTEXT.pool(request).acquire() as conn:
        quota = await repo.get_quota(conn, quota_id)
    if quota is None or not who.can_access(quota.tenant_id):
        raise QuotaNotFound("no such quota")
    return web.json_response(quota_json(quota))


async def update_quota(request: web.Request) -> web.Response:
    """PATCH /v1/quotas/{quota_id} (admins)."""
    who = caller(request, ADMIN_WRITE, "admin")
    quota_id = path_uuid(request, "quota_id")
    cmd = await parse_json(request, UpdateQuota)
    quota = await quotas.update_quota(
        CONTEXT.pool(request), quota_id, cmd, who, CONTEXT.emitter(request)
    )
    return web.json_response(quota_json(quota))


async def delete_quota(request: web.Request) -> web.Response:
    """DELETE /v1/quotas/{quota_id} (admins)."""
    who = caller(request, ADMIN_WRITE, "admin")
    quota_id = path_uuid(request, "quota_id")
    await quotas.delete_quota(CONTEXT.pool(request), quota_id, who, CONTEXT.emitter(request))
    return web.Response(status=204)


async def add_override(request: web.Request) -> web.Response:
    """POST /v1/quotas/{quota_id}/overrides (admins)."""
    who = caller(request, ADMIN_WRITE, "admin")
    quota_id = path_uuid(request, "quota_id")
    cmd = await parse_json(request, AddOverride)
    quota = await quotas.add_override(
        CONTEXT.pool(request), quota_id, cmd, who, CONTEXT.emitter(request)
    )
    return web.json_response(quota_json(quota), status=201)


async def usage(request: web.Request) -> web.Response:
    """GET /v1/usage: pages, colour pages and jobs per window."""
    who = caller(request, USAGE_READ)
    q = query_model(request, UsageQuery)
    tenant_id, dimension, subject = usage_subject(who, q)
    start, end = q.bounds()
    async with CONTEXT.pool(request).acquire() as conn:
        rows = await repo.usage_windows(
            conn, tenant_id=tenant_id, granularity=q.granularity, dimension=dimension,
            subject_id=subject, start=start, end=end, limit=q.limit,
        )  # fmt: skip
    return web.json_response({
        "tenant_id": str(tenant_id),
        "granularity": q.granularity,
        "dimension": dimension,
        "subject_id": str(subject),
        "items": [
            {
                "window_start": r["window_start"].isoformat(),
                "window_end": r["window_end"].isoformat(),
                "pages": r["pages"],
                "colour_pages": r["colour_pages"],
                "jobs": r["jobs"],
            }
            for r in rows
        ],
    })  # fmt: skip


async def printer_counters(request: web.Request) -> web.Response:
    """GET /v1/counters/{printer_id}: the counters kept for a printer."""
    who = caller(request, PRINTERS_READ)
    printer_id = path_uuid(request, "printer_id")
    async with CONTEXT.pool(request).acquire() as conn:
        rows = await repo.printer_counters(conn, printer_id)
    if not rows or not who.can_access(rows[0]["tenant_id"]):
        raise NotFound("no counters for this printer")
    return web.json_response({
        "printer_id": str(printer_id),
        "counters": [
            {
                "counter": r["counter"], "unit": r["unit"], "value": r["value"],
                "usage": r["usage"], "read_at": r["read_at"].isoformat(),
                "reading_id": str(r["reading_id"]),
            }
            for r in rows
        ],
    })  # fmt: skip
