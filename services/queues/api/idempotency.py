"""The Idempotency-Key header of submissions and the answer to a replayed request."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.queues.api.context import CONTEXT
from services.queues.handlers.idempotency import HEADER, REPLAYED_HEADER, IdempotencyKey, parse_key


def idempotency_key(request: web.Request, **body: Any) -> IdempotencyKey | None:
    """The request's key (None without the header), its fingerprint started with the
    method, the path, the query and ``body``; 400 for a malformed key."""
    key = parse_key(request.headers.get(HEADER))
    if key is None:
        return None
    return IdempotencyKey(
        key,
        CONTEXT.settings(request).idempotency_key_ttl_s,
        {
            "method": request.method,
            "path": request.path,
            "query": sorted(request.query.items()),
            **body,
        },
    )


def created(body: dict[str, Any], location: str, replayed: bool) -> web.Response:
    """201 with the resource's URL; a replay says so."""
    headers = {"Location": location}
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    return web.json_response(body, status=201, headers=headers)
