"""HTTP views of the device command ledger."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.registry import repository as repo
from services.registry.api.context import CONTEXT
from services.registry.domain.commands import IssueCommand
from services.registry.handlers import commands
from shared.errors import NotFound
from shared.http.body import parse_json, path_uuid
from shared.http.middleware import caller


def _command_json(row: Any) -> dict[str, Any]:
    return {
        "command_id": str(row["command_id"]),
        "device_id": str(row["device_id"]),
        "tenant_id": str(row["tenant_id"]),
        "target_device_id": str(row["target_device_id"]) if row["target_device_id"] else None,
        "name": row["name"],
        "payload": row["payload"],
        "issued_at": row["issued_at"].isoformat(),
    }


async def issue(request: web.Request) -> web.Response:
    """POST /v1/devices/{device_id}/commands: queue a command for a printer/connector."""
    who = caller(request, "printers:write", "admin")
    device_id = path_uuid(request, "device_id")
    cmd = await parse_json(request, IssueCommand)
    async with CONTEXT.pool(request).acquire() as conn, conn.transaction():
        command_id = await commands.issue(
            conn, device_id, cmd.name, cmd.payload, CONTEXT.emitter(request), who
        )
    return web.json_response({"command_id": str(command_id), "state": "pending"}, status=202)


async def pending(request: web.Request) -> web.Response:
    """GET /v1/devices/{device_id}/commands: what the device has not acknowledged
    (the gateway reads this when the device connects)."""
    device_id = path_uuid(request, "device_id")
    async with CONTEXT.pool(request).acquire() as conn:
        found = await repo.device_holder(conn, device_id)
        if found is None or not caller(request, "printers:read").can_access(found[0]):
            raise NotFound("no such device", code="device-not-found")
        rows = await repo.pending_commands(conn, device_id)
    return web.json_response({"items": [_command_json(r) for r in rows]})
