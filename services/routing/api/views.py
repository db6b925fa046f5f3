"""Thin HTTP views: parse, authorise, call a handler, shape the answer."""

from __future__ import annotations

import uuid

from aiohttp import web

from services.routing.api.context import CONTEXT, transactions
from services.routing.api.shapes import DecisionView, JobRoutingView, RoutingPolicyView
from services.routing.domain.commands import SetRoutingPolicy
from services.routing.domain.model import Policy
from services.routing.handlers import policies
from shared.http.body import parse_json, path_uuid
from shared.http.middleware import caller


def _policy_json(printer_id: uuid.UUID, policy: Policy) -> web.Response:
    view = RoutingPolicyView(
        printer_id=printer_id,
        on_offline=policy.on_offline,
        offline_after_s=policy.offline_after_s,
        failover_printer_id=policy.failover_printer_id,
        default=policy.is_default,
        updated_at=policy.updated_at,
        updated_by=policy.updated_by,
    )
    return web.json_response(view.model_dump(mode="json"))


async def get_policy(request: web.Request) -> web.Response:
    """GET /v1/printers/{printer_id}/routing-policy."""
    who = caller(request, "printers:read", "admin")
    printer_id = path_uuid(request, "printer_id")
    default = CONTEXT.settings(request).default_offline_after_s
    policy = await policies.get_policy(transactions(request), printer_id, who, default)
    return _policy_json(printer_id, policy)


async def put_policy(request: web.Request) -> web.Response:
    """PUT /v1/printers/{printer_id}/routing-policy."""
    who = caller(request, "printers:write", "admin")
    printer_id = path_uuid(request, "printer_id")
    cmd = await parse_json(request, SetRoutingPolicy)
    policy = await policies.set_policy(transactions(request), printer_id, cmd, who)
    return _policy_json(printer_id, policy)


async def delete_policy(request: web.Request) -> web.Response:
    """DELETE /v1/printers/{printer_id}/routing-policy."""
    who = caller(request, "printers:write", "admin")
    printer_id = path_uuid(request, "printer_id")
    await policies.delete_policy(transactions(request), printer_id, who)
    return web.Response(status=204)


async def job_routing(request: web.Request) -> web.Response:
    """GET /v1/jobs/{job_id}/routing."""
    who = caller(request, "jobs:read", "admin")
    job_id = path_uuid(request, "job_id")
    routing = await policies.job_routing(transactions(request), job_id, who)
    where = routing.where
    view = JobRoutingView(
        job_id=job_id,
        tenant_id=routing.tenant_id,
        state=where.state if where else "finished",
        printer_id=where.printer_id if where else None,
        hold_reason=where.hold_reason if where else None,
        decisions=[
            DecisionView(**{k: getattr(d, k) for k in DecisionView.model_fields})
            for d in routing.decisions
        ],
    )
    return web.json_response(view.model_dump(mode="json"))
