"""Thin HTTP views for rules and suppliers: parse, authorise, call a handler, answer."""

from __future__ import annotations

from aiohttp import web

from services.consumables import repository as repo
from services.consumables.api.context import CONTEXT, READ, WRITE, kek, listing_tenant
from services.consumables.api.shapes import page, rule_json, supplier_json
from services.consumables.domain.commands import CreateRule, CreateSupplier, Listing, UpdateRule
from services.consumables.domain.errors import RuleNotFound, SupplierNotFound
from services.consumables.handlers import admin
from shared.http.body import parse_json, path_uuid, query_model
from shared.http.middleware import caller


async def create_rule(request: web.Request) -> web.Response:
    """POST /v1/supply-rules (tenant admins; operators for platform defaults)."""
    who = caller(request, WRITE, "admin")
    cmd = await parse_json(request, CreateRule)
    rule = await admin.create_rule(CONTEXT.pool(request), cmd, who)
    return web.json_response(
        rule_json(rule), status=201, headers={"Location": f"/v1/supply-rules/{rule.id}"}
    )


async def list_rules(request: web.Request) -> web.Response:
    """GET /v1/supply-rules: the tenant's rules and the platform defaults."""
    q = query_model(request, Listing)
    tenant = listing_tenant(request, q.tenant_id)
    async with CONTEXT.pool(request).acquire() as conn:
        rules = await repo.list_rules(conn, tenant_id=tenant, after=q.after, limit=q.limit)
    return web.json_response(page([rule_json(r) for r in rules], q.limit))


async def get_rule(request: web.Request) -> web.Response:
    """GET /v1/supply-rules/{rule_id}."""
    rule_id = path_uuid(request, "rule_id")
    who = caller(request, READ)
    async with CONTEXT.pool(request).acquire() as conn:
        rule = await repo.get_rule(conn, rule_id)
    if rule is None or (rule.tenant_id is not None and not who.can_access(rule.tenant_id)):
        raise RuleNotFound("no such supply rule")
    return web.json_response(rule_json(rule))


async def update_rule(request: web.Request) -> web.Response:
    """PATCH /v1/supply-rules/{rule_id}."""
    who = caller(request, WRITE, "admin")
    rule_id = path_uuid(request, "rule_id")
    cmd = await parse_json(request, UpdateRule)
    rule = await admin.update_rule(CONTEXT.pool(request), rule_id, cmd, who)
    return web.json_response(rule_json(rule))


async def delete_rule(request: web.Request) -> web.Response:
    """DELETE /v1/supply-rules/{rule_id}."""
    who = caller(request, WRITE, "admin")
    rule_id = path_uuid(request, "rule_id")
    await admin.delete_rule(CONTEXT.pool(request), rule_id, who)
    return web.Response(status=204)


async def create_supplier(request: web.Request) -> web.Response:
    """POST /v1/suppliers (tenant admins; operators for platform suppliers)."""
    who = caller(request, WRITE, "admin")
    cmd = await parse_json(request, CreateSupplier)
    row = await admin.create_supplier(CONTEXT.pool(request), cmd, who, kek(request))
    return web.json_response(
        supplier_json(row), status=201, headers={"Location": f"/v1/suppliers/{row['id']}"}
    )


async def list_suppliers(request: web.Request) -> web.Response:
    """GET /v1/suppliers: the tenant's suppliers and the platform's."""
    q = query_model(request, Listing)
    tenant = listing_tenant(request, q.tenant_id)
    async with CONTEXT.pool(request).acquire() as conn:
        rows = await repo.list_suppliers(conn, tenant_id=tenant, after=q.after, limit=q.limit)
    return web.json_response(page([supplier_json(r) for r in rows], q.limit))


async def get_supplier(request: web.Request) -> web.Response:
    """GET /v1/suppliers/{supplier_id}."""
    supplier_id = path_uuid(request, "supplier_id")
    who = caller(request, READ)
    async with CONTEXT.pool(request).acquire() as conn:
        row = await repo.get_supplier(conn, supplier_id)
    if row is None or (row["tenant_id"] is not None and not who.can_access(row["tenant_id"])):
        raise SupplierNotFound("no such supplier")
    return web.json_response(supplier_json(row))
