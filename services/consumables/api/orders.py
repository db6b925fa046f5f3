"""Thin HTTP views for supply orders and levels, including the supplier's callbacks."""

from __future__ import annotations

import time
from typing import Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel

from services.consumables.api.context import (
    CONTEXT,
    READ,
    WRITE,
    kek,
    listing_tenant,
    transactions,
)
from services.consumables.api.shapes import history_json, level_json, order_json, page
from services.consumables.domain.commands import (
    CancelOrder,
    LevelQuery,
    OrderQuery,
    ReportDelivered,
    ReportShipped,
)
from services.consumables.domain.errors import OrderNotFound
from services.consumables.domain.model import Order, Supplier
from services.consumables.domain.signing import SIGNATURE_HEADER, verify_callback
from services.consumables.handlers import orders, supplies
from shared.crypto.sealing import SealError
from shared.errors import Unauthenticated
from shared.http.body import parse_json, path_uuid, query_model
from shared.http.middleware import authenticate, caller, public

M = TypeVar("M", bound=BaseModel)


async def list_orders(request: web.Request) -> web.Response:
    """GET /v1/supply-orders: the tenant's orders, newest first, filtered."""
    q = query_model(request, OrderQuery)
    tenant = listing_tenant(request, q.tenant_id)
    found = await orders.list_orders(transactions(request), q, tenant)
    return web.json_response(page([order_json(o) for o in found], q.limit))


async def get_order(request: web.Request) -> web.Response:
    """GET /v1/supply-orders/{order_id}."""
    order_id = path_uuid(request, "order_id")
    who = caller(request, READ)
    order = await orders.get_order(transactions(request), order_id, who)
    return web.json_response(order_json(order))


async def cancel_order(request: web.Request) -> web.Response:
    """POST /v1/supply-orders/{order_id}/cancel (administrators)."""
    who = caller(request, WRITE, "admin")
    order_id = path_uuid(request, "order_id")
    cmd = await _body(request, CancelOrder)
    order = await orders.cancel(transactions(request), order_id, cmd, who)
    return web.json_response(order_json(order))


async def _body(request: web.Request, model: type[M]) -> M:
    """The JSON body as ``model``; an empty body means all defaults."""
    if not await request.read():
        return model()
    return await parse_json(request, model)


async def _authorised_order(request: web.Request) -> Order:
    """The order a progress report is about, if the caller may report on it: the
    order's supplier signing the body with its secret, or an administrator."""
    order_id = path_uuid(request, "order_id")
    body = await request.read()
    order, supplier = await orders.order_and_supplier(transactions(request), order_id)
    if "Authorization" in request.headers:
        who = await authenticate(request)
        who.require_scope(WRITE)
        who.require_role("admin")
        if order is None or not who.can_access(order.tenant_id):
            raise OrderNotFound("no such supply order")
        return order
    header = request.headers.get(SIGNATURE_HEADER)
    if header is None:
        raise Unauthenticated(
            f"sign the request with the supplier's secret ({SIGNATURE_HEADER}) or send an "
            "administrator's bearer token"
        )
    secret = _supplier_secret(request, supplier)
    tolerance = CONTEXT.settings(request).callback_tolerance_s
    signed = None
    if secret is not None:
        signed = verify_callback(
            header, secret, method=request.method, path=request.path, body=body,
            now=time.time(), tolerance_s=tolerance,
        )  # fmt: skip
    # A missing order and a bad signature get the same answer: nothing leaks to a
    # caller that cannot sign.
    if signed is None:
        raise Unauthenticated("the signature does not verify")
    assert order is not None and supplier is not None
    tx = transactions(request)
    if not await orders.accept_callback_nonce(tx, supplier.id, signed.nonce, 2 * tolerance):
        raise Unauthenticated("this signed callback was already received (replay)")
    return order


def _supplier_secret(request: web.Request, supplier: Supplier | None) -> str | None:
    """The supplier's webhook secret, opened with the key-encryption key; None if none."""
    key = kek(request)
    if supplier is None or key is None:
        return None
    try:
        return key.open(supplier.sealed_secret or b"", aad=supplier.id.bytes).decode()
    except SealError:
        return None


async def _progress(
    request: web.Request, step: Literal["shipped", "delivered"], model: type[BaseModel]
) -> web.Response:
    order = await _authorised_order(request)
    cmd = await _body(request, model)
    assert isinstance(cmd, ReportShipped | ReportDelivered)
    order = await orders.report_progress(transactions(request), order.id, step, cmd)
    return web.json_response(order_json(order))


@public
async def report_shipped(request: web.Request) -> web.Response:
    """POST /v1/supply-orders/{order_id}/shipped (the supplier, signed; or an admin)."""
    return await _progress(request, "shipped", ReportShipped)


@public
async def report_delivered(request: web.Request) -> web.Response:
    """POST /v1/supply-orders/{order_id}/delivered (the supplier, signed; or an admin)."""
    return await _progress(request, "delivered", ReportDelivered)


async def get_levels(request: web.Request) -> web.Response:
    """GET /v1/supply-levels?printer_id=: a printer's latest levels and recent history."""
    who = caller(request, READ)
    q = query_model(request, LevelQuery)
    latest, history = await supplies.levels(transactions(request), q.printer_id, who)
    return web.json_response(
        {
            "printer_id": str(q.printer_id),
            "items": [level_json(lv) for lv in latest],
            "history": [history_json(h) for h in history],
        }
    )
