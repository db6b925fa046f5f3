"""Thin HTTP views: parse, authorise, call a handler, shape the answer."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from aiohttp import web

from services.registry import handlers
from services.registry.api.context import transactions
from services.registry.api.shapes import CapabilitiesQuery, Page, PrinterPage
from services.registry.domain.commands import CreateTenant, RegisterPrinter, UpdatePrinter
from services.registry.domain.errors import (
    CapabilitiesNotFound,
    PrinterNotFound,
    TenantNotFound,
)
from services.registry.domain.model import Printer, Tenant, VirtualPrinter
from services.registry.repository import RegistryRepository
from shared.db.uow import UnitOfWork
from shared.errors import FieldError
from shared.http.body import parse_json, path_uuid, query_model
from shared.http.middleware import caller, principal


def listing_tenant(request: web.Request, page: PrinterPage) -> uuid.UUID | None:
    """Whose items a listing shows: the caller's tenant (another one asked for is
    unknown to it), or for operators the one they name or all (None)."""
    tenant_id = caller(request, "printers:read").tenant_scope() or page.tenant_id
    if page.tenant_id is not None and page.tenant_id != tenant_id:
        raise TenantNotFound("no such tenant", [FieldError("tenant_id", "unknown tenant")])
    return tenant_id


Work = UnitOfWork[RegistryRepository]

_INTERNAL = frozenset({"presence_session"})


def to_json(entity: Tenant | Printer | VirtualPrinter) -> dict[str, Any]:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if isinstance(v, uuid.UUID) else v)
        for k, v in asdict(entity).items()
        if k not in _INTERNAL
    }


def page_of(items: list[Any], limit: int) -> dict[str, Any]:
    return {
        "items": [to_json(i) for i in items],
        "next_after": str(items[-1].id) if len(items) == limit else None,
    }


async def create_tenant(request: web.Request) -> web.Response:
    """POST /v1/tenants (operators)."""
    principal(request).require_role("operator")
    cmd = await parse_json(request, CreateTenant)
    tenant = await handlers.create_tenant(transactions(request), cmd)
    return web.json_response(
        to_json(tenant), status=201, headers={"Location": f"/v1/tenants/{tenant.id}"}
    )


async def get_tenant(request: web.Request) -> web.Response:
    """GET /v1/tenants/{tenant_id}."""
    tenant_id = path_uuid(request, "tenant_id")
    if not caller(request, "printers:read").can_access(tenant_id):
        raise TenantNotFound("no such tenant")
    async with transactions(request)() as uow:
        tenant = await uow.repo.tenants.get(tenant_id)
    if tenant is None:
        raise TenantNotFound("no such tenant")
    return web.json_response(to_json(tenant))


async def list_tenants(request: web.Request) -> web.Response:
    """GET /v1/tenants (operators)."""
    principal(request).require_role("operator")
    page = query_model(request, Page)
    async with transactions(request)() as uow:
        tenants = await uow.repo.tenants.list(after=page.after, limit=page.limit)
    return web.json_response(page_of(tenants, page.limit))


async def register_printer(request: web.Request) -> web.Response:
    """POST /v1/printers."""
    who = caller(request, "printers:write", "admin")
    cmd = await parse_json(request, RegisterPrinter)
    printer = await handlers.register_printer(transactions(request), cmd, who)
    return web.json_response(
        to_json(printer), status=201, headers={"Location": f"/v1/printers/{printer.id}"}
    )


async def visible_printer(request: web.Request, uow: Work, printer_id: uuid.UUID) -> Printer:
    """A printer of the caller's tenant that is shared with the caller, or PrinterNotFound
    (another tenant's, or one not shared with them, exactly as a missing one)."""
    who = caller(request, "printers:read")
    printer = await uow.repo.printers.get(printer_id)
    if printer is None or not who.can_access(printer.tenant_id):
        raise PrinterNotFound("no such printer")
    if not await uow.repo.sharing.may_use(printer_id, await uow.repo.sharing.viewer(who)):
        raise PrinterNotFound("no such printer")
    return printer


async def get_printer(request: web.Request) -> web.Response:
    """GET /v1/printers/{printer_id}."""
    printer_id = path_uuid(request, "printer_id")
    async with transactions(request)() as uow:
        printer = await visible_printer(request, uow, printer_id)
    return web.json_response(to_json(printer))


async def list_printers(request: web.Request) -> web.Response:
    """GET /v1/printers: the caller's tenant (operators: all, or ?tenant_id=)."""
    page = query_model(request, PrinterPage)
    tenant_id = listing_tenant(request, page)
    async with transactions(request)() as uow:
        viewer = await uow.repo.sharing.viewer(principal(request))
        printers = await uow.repo.printers.list(
            tenant_id=tenant_id, after=page.after, limit=page.limit, viewer=viewer
        )
    return web.json_response(page_of(printers, page.limit))


async def update_printer(request: web.Request) -> web.Response:
    """PATCH /v1/printers/{printer_id}."""
    who = caller(request, "printers:write", "admin")
    printer_id = path_uuid(request, "printer_id")
    cmd = await parse_json(request, UpdatePrinter)
    printer = await handlers.update_printer(transactions(request), printer_id, cmd, who)
    return web.json_response(to_json(printer))


async def get_capabilities(request: web.Request) -> web.Response:
    """GET /v1/printers/{printer_id}/capabilities: what the printer reported."""
    printer_id = path_uuid(request, "printer_id")
    query = query_model(request, CapabilitiesQuery)
    async with transactions(request)() as uow:
        await visible_printer(request, uow, printer_id)
        found = await uow.repo.printers.capabilities(printer_id, query.version)
    if found is None:
        raise CapabilitiesNotFound(
            "the printer has not reported capabilities yet"
            if query.version is None
            else f"no capabilities version {query.version}"
        )
    return web.json_response(
        {
            "printer_id": str(printer_id),
            "version": found.version,
            "fingerprint": found.fingerprint,
            "reported_at": found.reported_at.isoformat(),
            "capabilities": found.document,
        }
    )
