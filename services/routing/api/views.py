"""Thin HTTP views: parse, authorise, call a handler, shape the answer."""

from __future__ import annotations

import uuid

import asyncpg
from aiohttp import web

from services.routing import handlers
from services.routing import repository as repo
from services.routing.api.context import CONTEXT
from services.routing.api.operations import DecisionView, JobRoutingView, RoutingPolicyView
from services.routing.domain.commands import SetRoutingPolicy
from services.routing.domain.errors import JobNotFound
from shared.http.body import parse_json, path_uuid
from shared.http.middleware import caller


def _policy_json(
    request: web.Request, printer_id: uuid.UUID, row: asyncpg.Record | None
) -> web.Response:
    settings = CONTEXT.settings(request)
    policy = repo.policy_of(row, settings.default_offline_after_s)
    view = RoutingPolicyView(
        printer_id=printer_id,
        on_offline=policy.on_offline,
        offline_after_s=policy.offline_after_s,
        failover_printer_id=policy.failover_printer_id,
        default=policy.is_default,
        updated_at=row["updated_at"] if row else None,
        updated_by=row["updated_by"] if row else None,
    )
    return web.json_response(view.model_dump(mode="json"))


async def get_policy(request: web.Request) -> web.Response:
    """GET /v1/printers/{printer_id}/routing-policy."""
    who = caller(request, "printers:read", "admin")
    printer_id = path_uuid(request, "printer_id")
    async with CONTEXT.pool(request).acquire() as conn:
        await handlers.visible_printer(conn, printer_id, who)
        row = (await repo.get_policies(conn, [printer_id])).get(printer_id)
    return _policy_json(request, printer_id, row)


async def put_policy(request: web.Request) -> web.Response:
    """PUT /v1/printers/{printer_id}/routing-policy."""
    who = caller(request, "printers:write", "admin")
    printer_id = path_uuid(request, "printer_id")
    cmd = await parse_json(request, SetRoutingPolicy)
    row = await handlers.set_policy(CONTEXT.pool(request), printer_id, cmd, who)
    return _policy_json(request, printer_id, row)


async def delete_policy(request: web.Request) -> web.Response:
    """DELETE /v1/printers/{printer_id}/routing-policy."""
    who = caller(request, "printers:write", "admin")
    printer_id = path_uuid(request, "printer_id")
    async with CONTEXT.pool(request).acquire() as conn, conn.transaction():
        await handlers.visible_printer(conn, printer_id, who)
        await repo.delete_policy(conn, printer_id)
    return web.Response(status=204)


async def job_routing(request: web.Request) -> web.Response:
    """GET /v1/jobs/{job_id}/routing."""
    who = caller(request, "jobs:read", "admin")
    job_id = path_uuid(request, "job_id")
    async with CONTEXT.pool(request).acquire() as conn:
        decisions = await repo.decisions_of(conn, job_id)
        where = await repo.job_state(conn, job_id)
    if not decisions or not who.can_access(decisions[0]["tenant_id"]):
        raise JobNotFound("no such job")
    view = JobRoutingView(
        job_id=job_id,
        tenant_id=decisions[0]["tenant_id"],
        state=where["state"] if where else "finished",
        printer_id=where["printer_id"] if where else None,
        hold_reason=where["hold_reason"] if where else None,
        decisions=[DecisionView(**{k: d[k] for k in DecisionView.model_fields}) for d in decisions],
    )
    return web.json_response(view.model_dump(mode="json"))
