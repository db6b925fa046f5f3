"""Thin HTTP views: parse, authorise, call a handler, shape the answer."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from services.registry import handlers
from services.registry import repository as repo
from services.registry.api.context import CONTEXT
from services.registry.domain.commands import CreateTenant, RegisterPrinter, UpdatePrinter
from services.registry.domain.errors import (
    CapabilitiesNotFound,
    PrinterNotFound,
    TenantNotFound,
)
from services.registry.domain.model import Printer, Tenant, VirtualPrinter
from shared.errors import FieldError
from shared.http.body import parse_json, path_uuid, query_model
from shared.http.middleware import caller, principal


class Page(BaseModel):
    """Keyset pagination: ``after`` is the last id of the previous page."""

    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=500)
    after: uuid.UUID | None = None


class PrinterPage(Page):
    """A page of printers; operators may narrow it to one tenant."""

    tenant_id: uuid.UUID | None = None


def listing_tenant(request: web.Request, page: PrinterPage) -> uuid.UUID | None:
    """Whose items a listing shows: the caller's tenant (another one asked for is
    unknown to it), or for operators the one they name or all (None)."""
    tenant_id = caller(request, "printers:read").tenant_scope() or page.tenant_id
    if page.tenant_id is not None and page.tenant_id != tenant_id:
        raise TenantNotFound("no such tenant", [FieldError("tenant_id", "unknown tenant")])
    return tenant_id


_INTERNAL = frozenset({"presence_session"})


def to_json(entity: Tenant | Printer | VirtualPrinter) -> dict[str, Any]:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if isinstance(v, uuid.UUID) else v)
        for k, v in asdict(entity).items()
        if k not in _INTERNAL
    }


class CapabilitiesQuery(BaseModel):
    """``version`` selects an older capabilities version (default: the current one)."""

    model_config = ConfigDict(extra="forbid")
    version: int | None = Field(default=None, ge=1)


def page_of(items: list[Any], limit: int) -> dict[str, Any]:
    return {
        "items": [to_json(i) for i in items],
        "next_after": str(items[-1].id) if len(items) == limit else None,
    }


async def create_tenant(request: web.Request) -> web.Response:
    """POST /v1/tenants (operators)."""
    principal(request).require_role("operator")
    cmd = await parse_json(request, CreateTenant)
    tenant = await handlers.create_tenant(CONTEXT.pool(request), cmd, CONTEXT.emitter(request))
    return web.json_response(
        to_json(tenant), status=201, headers={"Location": f"/v1/tenants/{tenant.id}"}
    )


async def get_tenant(request: web.Request) -> web.Response:
    """GET /v1/tenants/{tenant_id}."""
    tenant_id = path_uuid(request, "tenant_id")
    if not caller(request, "printers:read").can_access(tenant_id):
        raise TenantNotFound("no such tenant")
    async with CONTEXT.pool(request).acquire() as conn:
        tenant = await repo.get_tenant(conn, tenant_id)
    if tenant is None:
        raise TenantNotFound("no such tenant")
    return web.json_response(to_json(tenant))


async def list_tenants(request: web.Request) -> web.Response:
    """GET /v1/tenants (operators)."""
    principal(request).require_role("operator")
    page = query_model(request, Page)
    async with CONTEXT.pool(request).acquire() as conn:
        tenants = await repo.list_tenants(conn, after=page.after, limit=page.limit)
    return web.json_response(page_of(tenants, page.limit))


async def register_printer(request: web.Request) -> web.Response:
    """POST /v1/printers."""
    who = caller(request, "printers:write", "admin")
    cmd = await parse_json(request, RegisterPrinter)
    printer = await handlers.register_printer(
        CONTEXT.pool(request), cmd, who, CONTEXT.emitter(request)
    )
    return web.json_response(
        to_json(printer), status=201, headers={"Location": f"/v1/printers/{printer.id}"}
    )


async def get_printer(request: web.Request) -> web.Response:
    """GET /v1/printers/{printer_id}."""
    printer_id = path_uuid(request, "printer_id")
    async with CONTEXT.pool(request).acquire() as conn:
        printer = await repo.get_printer(conn, printer_id)
    if printer is None or not caller(request, "printers:read").can_access(printer.tenant_id):
        raise PrinterNotFound("no such printer")
    return web.json_response(to_json(printer))


async def list_printers(request: web.Request) -> web.Response:
    """GET /v1/printers: the caller's tenant (operators: all, or ?tenant_id=)."""
    page = query_model(request, PrinterPage)
    tenant_id = listing_tenant(request, page)
    async with CONTEXT.pool(request).acquire() as conn:
        printers = await repo.list_printers(
            conn, tenant_id=tenant_id, after=page.after, limit=page.limit
        )
    return web.json_response(page_of(printers, page.limit))


async def update_printer(request: web.Request) -> web.Response:
    """PATCH /v1/printers/{printer_id}."""
    who = caller(request, "printers:write", "admin")
    printer_id = path_uuid(request, "printer_id")
    cmd = await parse_json(request, UpdatePrinter)
    printer = await handlers.update_printer(
        CONTEXT.pool(request), printer_id, cmd, who, CONTEXT.emitter(request)
    )
    return web.json_response(to_json(printer))


async def get_capabilities(request: web.Request) -> web.Response:
    """GET /v1/printers/{printer_id}/capabilities: what the printer reported."""
    printer_id = path_uuid(request, "printer_id")
    query = query_model(request, CapabilitiesQuery)
    async with CONTEXT.pool(request).acquire() as conn:
        printer = await repo.get_printer(conn, printer_id)
        if printer is None or not caller(request, "printers:read").can_access(printer.tenant_id):
            raise PrinterNotFound("no such printer")
        row = await repo.current_capabilities(conn, printer_id, query.version)
    if row is None:
        raise CapabilitiesNotFound(
            "the printer has not reported capabilities yet"
            if query.version is None
            else f"no capabilities version {query.version}"
        )
    return web.json_response(
        {
            "printer_id": str(printer_id),
            "version": row["version"],
            "fingerprint": row["fingerprint"],
            "reported_at": row["reported_at"].isoformat(),
            "capabilities": row["document"],
        }
    )
