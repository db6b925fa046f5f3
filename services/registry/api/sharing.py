"""HTTP views of sharing: with whom a printer or virtual printer is shared."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.registry.api.context import transactions
from services.registry.handlers.sharing import Kind, Shared, share, sharing_of
from shared.http.body import parse_json, path_uuid
from shared.http.middleware import caller
from shared.sharing import SharedWith

_PARAM: dict[Kind, str] = {"printer": "printer_id", "virtual_printer": "virtual_printer_id"}


def _json(s: Shared) -> dict[str, Any]:
    return {
        _PARAM[s.kind]: str(s.subject_id),
        "shared_with": s.shared_with.model_dump(mode="json"),
        "revision": s.revision,
    }


async def _get(request: web.Request, kind: Kind) -> web.Response:
    who = caller(request, "printers:read", "admin")
    subject_id = path_uuid(request, _PARAM[kind])
    return web.json_response(_json(await sharing_of(transactions(request), kind, subject_id, who)))


async def _put(request: web.Request, kind: Kind) -> web.Response:
    who = caller(request, "printers:write", "admin")
    subject_id = path_uuid(request, _PARAM[kind])
    cmd = await parse_json(request, SharedWith)
    done = await share(transactions(request), kind, subject_id, cmd, who)
    return web.json_response(_json(done))


async def get_printer_sharing(request: web.Request) -> web.Response:
    """GET /v1/printers/{printer_id}/sharing (administrators)."""
    return await _get(request, "printer")


async def put_printer_sharing(request: web.Request) -> web.Response:
    """PUT /v1/printers/{printer_id}/sharing (administrators)."""
    return await _put(request, "printer")


async def get_virtual_printer_sharing(request: web.Request) -> web.Response:
    """GET /v1/virtual-printers/{virtual_printer_id}/sharing (administrators)."""
    return await _get(request, "virtual_printer")


async def put_virtual_printer_sharing(request: web.Request) -> web.Response:
    """PUT /v1/virtual-printers/{virtual_printer_id}/sharing (administrators)."""
    return await _put(request, "virtual_printer")
