"""HTTP views of the device command ledger."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.registry.api.context import transactions
from services.registry.domain.commands import IssueCommand
from services.registry.domain.model import DeviceCommand
from services.registry.handlers import commands
from shared.http.body import parse_json, path_uuid
from shared.http.identities import DEVICE_COMMANDS_READ
from shared.http.middleware import caller, principal


def _command_json(c: DeviceCommand) -> dict[str, Any]:
    return {
        "command_id": str(c.command_id),
        "device_id": str(c.device_id),
        "tenant_id": str(c.tenant_id),
        "target_device_id": str(c.target_device_id) if c.target_device_id else None,
        "name": c.name,
        "payload": c.payload,
        "issued_at": c.issued_at.isoformat(),
    }


async def issue(request: web.Request) -> web.Response:
    """POST /v1/devices/{device_id}/commands: queue a command for a printer/connector."""
    who = caller(request, "printers:write", "admin")
    device_id = path_uuid(request, "device_id")
    cmd = await parse_json(request, IssueCommand)
    command_id = await commands.issue_command(transactions(request), device_id, cmd, who)
    return web.json_response({"command_id": str(command_id), "state": "pending"}, status=202)


async def outcome(request: web.Request) -> web.Response:
    """GET /v1/devices/{device_id}/commands/{command_id}: a command and its outcome."""
    who = caller(request, "printers:read")
    device_id = path_uuid(request, "device_id")
    command_id = path_uuid(request, "command_id")
    async with transactions(request)() as uow:
        found = await uow.repo.commands.outcome(command_id)
    if found is None:
        raise commands.no_command()
    command, state, detail, acked_at = found
    mine = device_id in (command.device_id, command.target_device_id)
    if not mine or not who.can_access(command.tenant_id):
        raise commands.no_command()
    body = _command_json(command) | {
        "state": state, "detail": detail,
        "acked_at": acked_at.isoformat() if acked_at else None,
    }  # fmt: skip
    return web.json_response(body)


async def pending(request: web.Request) -> web.Response:
    """GET /v1/devices/{device_id}/commands: what the device has not acknowledged
    (the gateway reads this when the device connects)."""
    device_id = path_uuid(request, "device_id")
    who = principal(request)
    if who.is_service:  # a service reads any device's commands only by its grant (gateway)
        who.require_scope(DEVICE_COMMANDS_READ)
    async with transactions(request)() as uow:
        route = await uow.repo.commands.route(device_id)
        visible = route is not None and (
            who.is_service or caller(request, "printers:read").can_access(route.tenant_id)
        )
        if not visible:
            raise commands.no_device()
        found = await uow.repo.commands.pending(device_id)
    return web.json_response({"items": [_command_json(c) for c in found]})
