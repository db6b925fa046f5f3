"""Thin HTTP views: parse, authorise, call a handler, shape the answer."""

from __future__ import annotations

import uuid

from aiohttp import web

from services.routing.api.context import CONTEXT, transactions
from services.routing.api.shapes import (
    DecisionView,
    JobRoutingView,
    PrintPolicySetView,
    PrintPolicyView,
    RoutingPolicyView,
    SavedPrintPolicyView,
)
from services.routing.domain.commands import PolicyQuery, SavePrintPolicy, SetRoutingPolicy
from services.routing.domain.model import Policy
from services.routing.domain.print_policies import PrintPolicy
from services.routing.handlers import policies, print_policies
from shared.errors import FieldError, NotFound, ValidationFailed
from shared.http.auth import Principal
from shared.http.body import parse_json, path_uuid, query_model
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


def _tenant(who: Principal, requested: uuid.UUID | None) -> uuid.UUID:
    """Operators name the tenant; members get their own (a foreign one is not found)."""
    tenant_id = requested or who.tenant_scope()
    if tenant_id is None:
        raise ValidationFailed(
            "name the tenant", [FieldError("tenant_id", "required for operators")]
        )
    if not who.can_access(tenant_id):
        raise NotFound("no such tenant", [FieldError("tenant_id", "unknown tenant")])
    return tenant_id


def _saved_json(version: int, policy: PrintPolicy, status: int = 200) -> web.Response:
    view = SavedPrintPolicyView(**PrintPolicyView.of(policy).model_dump(), version=version)
    return web.json_response(view.model_dump(mode="json"), status=status)


async def list_print_policies(request: web.Request) -> web.Response:
    """GET /v1/policies."""
    who = caller(request, "printers:read", "admin")
    query = query_model(request, PolicyQuery)
    tenant_id = _tenant(who, query.tenant_id)
    tx = transactions(request)
    if query.version is None:
        version, found = await print_policies.list_policies(tx, tenant_id)
    else:
        version, found = (
            query.version,
            await print_policies.policies_at(tx, tenant_id, query.version),
        )
    view = PrintPolicySetView(
        tenant_id=tenant_id, version=version, policies=[PrintPolicyView.of(p) for p in found]
    )
    return web.json_response(view.model_dump(mode="json"))


async def create_print_policy(request: web.Request) -> web.Response:
    """POST /v1/policies."""
    who = caller(request, "printers:write", "admin")
    tenant_id = _tenant(who, query_model(request, PolicyQuery).tenant_id)
    cmd = await parse_json(request, SavePrintPolicy)
    version, policy = await print_policies.create_policy(
        transactions(request), tenant_id, cmd, who.subject
    )
    return _saved_json(version, policy, status=201)


async def get_print_policy(request: web.Request) -> web.Response:
    """GET /v1/policies/{policy_id}."""
    who = caller(request, "printers:read", "admin")
    policy_id = path_uuid(request, "policy_id")
    policy = await print_policies.get_policy(transactions(request), policy_id, who)
    return web.json_response(PrintPolicyView.of(policy).model_dump(mode="json"))


async def put_print_policy(request: web.Request) -> web.Response:
    """PUT /v1/policies/{policy_id}."""
    who = caller(request, "printers:write", "admin")
    policy_id = path_uuid(request, "policy_id")
    cmd = await parse_json(request, SavePrintPolicy)
    version, policy = await print_policies.update_policy(transactions(request), policy_id, cmd, who)
    return _saved_json(version, policy)


async def delete_print_policy(request: web.Request) -> web.Response:
    """DELETE /v1/policies/{policy_id}."""
    who = caller(request, "printers:write", "admin")
    policy_id = path_uuid(request, "policy_id")
    await print_policies.delete_policy(transactions(request), policy_id, who)
    return web.Response(status=204)
