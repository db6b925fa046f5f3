"""Thin HTTP views for endpoints and their deliveries: parse, authorise, call a handler,
answer."""

from __future__ import annotations

from aiohttp import web

from services.notifications.api.context import CONTEXT, READ, WRITE, kek, transactions, url_check
from services.notifications.api.shapes import (
    delivery_json,
    delivery_page,
    endpoint_json,
    page,
)
from services.notifications.domain.commands import (
    CreateEndpoint,
    DeliveryQuery,
    Listing,
    RotateSecret,
    UpdateEndpoint,
)
from services.notifications.handlers import deliveries, endpoints
from shared.errors import FieldError, ValidationFailed
from shared.http.body import parse_json, path_uuid, query_model
from shared.http.middleware import caller


def _delivery_id(request: web.Request) -> int:
    raw = request.match_info["delivery_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationFailed("bad delivery id", [FieldError("delivery_id", "not a delivery id")])
    return int(raw)


async def create_endpoint(request: web.Request) -> web.Response:
    """POST /v1/webhook-endpoints (tenant administrators)."""
    who = caller(request, WRITE, "admin")
    cmd = await parse_json(request, CreateEndpoint)
    endpoint, secret = await endpoints.create_endpoint(
        transactions(request), cmd, who, kek(request), url_check(request)
    )
    body = {**endpoint_json(endpoint), "secret": secret}
    return web.json_response(
        body, status=201, headers={"Location": f"/v1/webhook-endpoints/{endpoint.id}"}
    )


async def list_endpoints(request: web.Request) -> web.Response:
    """GET /v1/webhook-endpoints."""
    who = caller(request, READ, "admin")
    q = query_model(request, Listing)
    found = await endpoints.list_endpoints(transactions(request), who, q.after, q.limit)
    return web.json_response(page([endpoint_json(e) for e in found], q.limit))


async def get_endpoint(request: web.Request) -> web.Response:
    """GET /v1/webhook-endpoints/{endpoint_id}."""
    who = caller(request, READ, "admin")
    endpoint_id = path_uuid(request, "endpoint_id")
    endpoint = await endpoints.get_endpoint(transactions(request), endpoint_id, who)
    return web.json_response(endpoint_json(endpoint))


async def update_endpoint(request: web.Request) -> web.Response:
    """PATCH /v1/webhook-endpoints/{endpoint_id}."""
    who = caller(request, WRITE, "admin")
    endpoint_id = path_uuid(request, "endpoint_id")
    cmd = await parse_json(request, UpdateEndpoint)
    endpoint = await endpoints.update_endpoint(
        transactions(request), endpoint_id, cmd, who, url_check(request)
    )
    return web.json_response(endpoint_json(endpoint))


async def delete_endpoint(request: web.Request) -> web.Response:
    """DELETE /v1/webhook-endpoints/{endpoint_id}."""
    who = caller(request, WRITE, "admin")
    endpoint_id = path_uuid(request, "endpoint_id")
    await endpoints.delete_endpoint(transactions(request), endpoint_id, who)
    return web.Response(status=204)


async def rotate_secret(request: web.Request) -> web.Response:
    """POST /v1/webhook-endpoints/{endpoint_id}/secret/rotate."""
    who = caller(request, WRITE, "admin")
    endpoint_id = path_uuid(request, "endpoint_id")
    cmd = await parse_json(request, RotateSecret) if request.can_read_body else RotateSecret()
    overlap = CONTEXT.settings(request).secret_overlap_s
    endpoint, secret, until = await endpoints.rotate_secret(
        transactions(request), endpoint_id, cmd, who, kek(request), overlap
    )
    return web.json_response(
        {"endpoint_id": str(endpoint.id), "secret": secret, "previous_until": until.isoformat()}
    )


async def list_deliveries(request: web.Request) -> web.Response:
    """GET /v1/webhook-endpoints/{endpoint_id}/deliveries."""
    who = caller(request, READ, "admin")
    endpoint_id = path_uuid(request, "endpoint_id")
    q = query_model(request, DeliveryQuery)
    found = await deliveries.delivery_log(
        transactions(request), endpoint_id, who, q.state, q.before, q.limit
    )
    return web.json_response(delivery_page([delivery_json(d) for d in found], q.limit))


async def get_delivery(request: web.Request) -> web.Response:
    """GET /v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}."""
    who = caller(request, READ, "admin")
    endpoint_id = path_uuid(request, "endpoint_id")
    found = await deliveries.get_delivery(
        transactions(request), endpoint_id, _delivery_id(request), who
    )
    return web.json_response(delivery_json(found, with_attempts=True))


async def redeliver(request: web.Request) -> web.Response:
    """POST /v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/redeliver."""
    who = caller(request, WRITE, "admin")
    endpoint_id = path_uuid(request, "endpoint_id")
    queued = await deliveries.redeliver(
        transactions(request), endpoint_id, _delivery_id(request), who
    )
    return web.json_response(delivery_json(queued), status=202)
