"""Groups: thin views over :mod:`services.auth.handlers.groups`."""

from __future__ import annotations

from aiohttp import web

from services.auth.api.context import admin, transactions
from services.auth.api.shapes import GroupPage, group_json
from services.auth.domain.commands import CreateGroup, UpdateGroup
from services.auth.domain.errors import TenantNotFound
from services.auth.handlers import groups
from shared.errors import FieldError
from shared.http.body import parse_json, path_uuid, query_model


async def create_group(request: web.Request) -> web.Response:
    """POST /v1/groups."""
    who = admin(request, "users:write")
    cmd = await parse_json(request, CreateGroup)
    group = await groups.create_group(transactions(request), cmd, who)
    return web.json_response(
        group_json(group), status=201, headers={"Location": f"/v1/groups/{group.id}"}
    )


async def list_groups(request: web.Request) -> web.Response:
    """GET /v1/groups: the caller's tenant (operators: all, or one tenant)."""
    who = admin(request, "users:read")
    page = query_model(request, GroupPage)
    tenant_id = who.tenant_scope() or page.tenant_id
    if page.tenant_id is not None and page.tenant_id != tenant_id:
        raise TenantNotFound("no such tenant", [FieldError("tenant_id", "unknown tenant")])
    async with transactions(request)() as uow:
        found = await uow.repo.groups.list(tenant_id=tenant_id, after=page.after, limit=page.limit)
    return web.json_response(
        {
            "items": [group_json(g) for g in found],
            "next_after": str(found[-1].id) if len(found) == page.limit else None,
        }
    )


async def get_group(request: web.Request) -> web.Response:
    """GET /v1/groups/{group_id}."""
    who = admin(request, "users:read")
    group_id = path_uuid(request, "group_id")
    async with transactions(request)() as uow:
        group = await groups.visible_group(uow.repo, group_id, who)
    return web.json_response(group_json(group))


async def update_group(request: web.Request) -> web.Response:
    """PATCH /v1/groups/{group_id}."""
    who = admin(request, "users:write")
    group_id = path_uuid(request, "group_id")
    cmd = await parse_json(request, UpdateGroup)
    group = await groups.update_group(transactions(request), group_id, cmd, who)
    return web.json_response(group_json(group))


async def delete_group(request: web.Request) -> web.Response:
    """DELETE /v1/groups/{group_id}."""
    who = admin(request, "users:write")
    group_id = path_uuid(request, "group_id")
    await groups.delete_group(transactions(request), group_id, who)
    return web.Response(status=204)
