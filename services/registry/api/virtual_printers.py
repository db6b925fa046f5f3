"""HTTP views of virtual printers."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.registry import handlers
from services.registry.api.context import transactions
from services.registry.api.views import PrinterPage, listing_tenant, page_of, to_json
from services.registry.domain.commands import CreateVirtualPrinter, UpdateVirtualPrinter
from services.registry.domain.errors import VirtualPrinterNotFound
from services.registry.domain.model import VirtualPrinter
from shared.http.body import parse_json, path_uuid, query_model
from shared.http.middleware import caller, principal
from shared.printing.capabilities import Capabilities, intersect


def _vp_json(vp: VirtualPrinter) -> dict[str, Any]:
    body = to_json(vp)
    body["members"] = [str(m) for m in vp.members]
    return body


async def _with_capabilities(request: web.Request, vp: VirtualPrinter) -> dict[str, Any]:
    """The virtual printer plus what every member supports (members that have not
    reported yet are listed; until they do, the effective set is incomplete)."""
    async with transactions(request)() as uow:
        docs = await uow.repo.printers.members_capabilities(list(vp.members))
    body = _vp_json(vp)
    known = [Capabilities.model_validate(docs[m]) for m in vp.members if m in docs]
    body["effective_capabilities"] = intersect(known).model_dump(mode="json")
    body["members_without_capabilities"] = [str(m) for m in vp.members if m not in docs]
    return body


async def create(request: web.Request) -> web.Response:
    """POST /v1/virtual-printers."""
    who = caller(request, "printers:write", "admin")
    cmd = await parse_json(request, CreateVirtualPrinter)
    vp = await handlers.create_virtual_printer(transactions(request), cmd, who)
    return web.json_response(
        await _with_capabilities(request, vp),
        status=201,
        headers={"Location": f"/v1/virtual-printers/{vp.id}"},
    )


async def get(request: web.Request) -> web.Response:
    """GET /v1/virtual-printers/{virtual_printer_id}."""
    vp_id = path_uuid(request, "virtual_printer_id")
    who = caller(request, "printers:read")
    async with transactions(request)() as uow:
        vp = await uow.repo.virtual_printers.get(vp_id)
        if vp is None or not who.can_access(vp.tenant_id):
            raise VirtualPrinterNotFound("no such virtual printer")
        # Not shared with the caller: not found either.
        if not await uow.repo.sharing.may_use(vp_id, await uow.repo.sharing.viewer(who)):
            raise VirtualPrinterNotFound("no such virtual printer")
    return web.json_response(await _with_capabilities(request, vp))


async def list_all(request: web.Request) -> web.Response:
    """GET /v1/virtual-printers."""
    page = query_model(request, PrinterPage)
    tenant_id = listing_tenant(request, page)
    async with transactions(request)() as uow:
        viewer = await uow.repo.sharing.viewer(principal(request))
        items = await uow.repo.virtual_printers.list(
            tenant_id=tenant_id, after=page.after, limit=page.limit, viewer=viewer
        )
    body = page_of(items, page.limit)
    body["items"] = [_vp_json(vp) for vp in items]
    return web.json_response(body)


async def update(request: web.Request) -> web.Response:
    """PATCH /v1/virtual-printers/{virtual_printer_id}."""
    who = caller(request, "printers:write", "admin")
    vp_id = path_uuid(request, "virtual_printer_id")
    cmd = await parse_json(request, UpdateVirtualPrinter)
    vp = await handlers.update_virtual_printer(transactions(request), vp_id, cmd, who)
    return web.json_response(await _with_capabilities(request, vp))
