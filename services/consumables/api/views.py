"""Thin HTTP views for rules and suppliers: parse, authorise, call a handler, answer."""

from __future__ import annotations

from aiohttp import web

from services.consumables.api.context import READ, WRITE, kek, listing_tenant, transactions
from services.consumables.api.shapes import page, rule_json, supplier_json
from services.consumables.domain.commands import CreateRule, CreateSupplier, Listing, UpdateRule
from services.consumables.handlers import admin
from shared.http.body import parse_json, path_uuid, query_model
from shared.http.middleware import caller


async def create_rule(request: web.Request) -> web.Response:
    """POST /v1/supply-rules (tenant admins; operators for platform defaults)."""
    who = caller(request, WRITE, "admin")
    cmd = await parse_json(request, CreateRule)
    rule = await admin.create_rule(transactions(request), cmd, who)
    return web.json_response(
        rule_json(rule), status=201, headers={"Location": f"/v1/supply-rules/{rule.id}"}
    )


async def list_rules(request: web.Request) -> web.Response:
    """GET /v1/supply-rules: the tenant's rules and the platform defaults."""
    q = query_model(request, Listing)
    tenant = listing_tenant(request, q.tenant_id)
    rules = await admin.list_rules(transactions(request), tenant, q.after, q.limit)
    return web.json_response(page([rule_json(r) for r in rules], q.limit))


async def get_rule(request: web.Request) -> web.Response:
    """GET /v1/supply-rules/{rule_id}."""
    rule_id = path_uuid(request, "rule_id")
    who = caller(request, READ)
    rule = await admin.get_rule(transactions(request), rule_id, who)
    return web.json_response(rule_json(rule))


async def update_rule(request: web.Request) -> web.Response:
    """PATCH /v1/supply-rules/{rule_id}."""
    who = caller(request, WRITE, "admin")
    rule_id = path_uuid(request, "rule_id")
    cmd = await parse_json(request, UpdateRule)
    rule = await admin.update_rule(transactions(request), rule_id, cmd, who)
    return web.json_response(rule_json(rule))


async def delete_rule(request: web.Request) -> web.Response:
    """DELETE /v1/supply-rules/{rule_id}."""
    who = caller(request, WRITE, "admin")
    rule_id = path_uuid(request, "rule_id")
    await admin.delete_rule(transactions(request), rule_id, who)
    return web.Response(status=204)


async def create_supplier(request: web.Request) -> web.Response:
    """POST /v1/suppliers (tenant admins; operators for platform suppliers)."""
    who = caller(request, WRITE, "admin")
    cmd = await parse_json(request, CreateSupplier)
    supplier = await admin.create_supplier(transactions(request), cmd, who, kek(request))
    return web.json_response(
        supplier_json(supplier), status=201, headers={"Location": f"/v1/suppliers/{supplier.id}"}
    )


async def list_suppliers(request: web.Request) -> web.Response:
    """GET /v1/suppliers: the tenant's suppliers and the platform's."""
    q = query_model(request, Listing)
    tenant = listing_tenant(request, q.tenant_id)
    suppliers = await admin.list_suppliers(transactions(request), tenant, q.after, q.limit)
    return web.json_response(page([supplier_json(s) for s in suppliers], q.limit))


async def get_supplier(request: web.Request) -> web.Response:
    """GET /v1/suppliers/{supplier_id}."""
    supplier_id = path_uuid(request, "supplier_id")
    who = caller(request, READ)
    supplier = await admin.get_supplier(transactions(request), supplier_id, who)
    return web.json_response(supplier_json(supplier))
