"""Middlewares every service app runs, outermost first: correlation id, problem+json,
metrics, authentication."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from structlog.contextvars import bound_contextvars

from shared import metrics
from shared.dependencies import unavailable_dependency
from shared.errors import DomainError, Unauthenticated
from shared.http.auth import Authenticator, Principal
from shared.http.problem import dependency_unavailable, from_domain_error, problem_response
from shared.http.revocations import revocations
from shared.logging import get_logger

log = get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CORRELATION_HEADER = "X-Correlation-ID"
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
CORRELATION_ID = web.RequestKey("correlation_id", uuid.UUID)
PRINCIPAL = web.RequestKey("principal", Principal)


def correlation_id(request: web.Request) -> uuid.UUID:
    """The request's correlation id (from the header, or minted on entry)."""
    return request[CORRELATION_ID]


def principal(request: web.Request) -> Principal:
    """The authenticated caller of a non-public route."""
    return request[PRINCIPAL]


def caller(request: web.Request, scope: str, *roles: str) -> Principal:
    """The caller, if its credential carries ``scope`` and (when given) one of ``roles``;
    Forbidden otherwise (operators always pass)."""
    who = request[PRINCIPAL]
    who.require_scope(scope)
    if roles:
        who.require_role(*roles)
    return who


@web.middleware
async def correlation_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Adopt a valid incoming X-Correlation-ID or mint one; echo it; bind it to logs."""
    try:
        cid = uuid.UUID(request.headers.get(CORRELATION_HEADER, ""))
    except ValueError:
        cid = uuid.uuid4()
    request[CORRELATION_ID] = cid
    with bound_contextvars(correlation_id=str(cid)):
        response = await handler(request)
    response.headers[CORRELATION_HEADER] = str(cid)
    return response


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into application/problem+json; never leak internals on 500.

    A failure because the database or the broker cannot be reached is a 503
    ``dependency-unavailable`` with ``Retry-After``: the request may succeed shortly."""
    try:
        return await handler(request)
    except DomainError as exc:
        return from_domain_error(exc, instance=request.path)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = exc.reason.lower().replace(" ", "-")
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return problem_response(
            exc.status,
            exc.reason,
            exc.text or exc.reason,
            code=code,
            instance=request.path,
            headers=headers,
        )
    except Exception as exc:
        dependency = unavailable_dependency(exc)
        if dependency is not None:
            # An outage, not a bug: one line per request, no traceback.
            log.warning(
                "dependency unavailable",
                dependency=dependency,
                error=type(exc).__name__,
                path=request.path,
                method=request.method,
            )
            return dependency_unavailable(dependency, instance=request.path)
        log.exception("unhandled error", path=request.path, method=request.method)
        return problem_response(
            500,
            "Internal error",
            "the server failed; the correlation id identifies this request in the logs",
            code="internal-error",
            instance=request.path,
        )


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request latency by route pattern (never by raw path: ids would explode labels)."""
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        metrics.HTTP_REQUESTS.labels(request.method, route, str(status)).observe(
            time.perf_counter() - start
        )


_PUBLIC_ATTR = "__printcloud_public__"


def public(view: Handler) -> Handler:
    """Mark a view as reachable without a principal (it must authenticate its caller
    some other way, e.g. a device proving its key, or be harmless and rate limited)."""
    setattr(view, _PUBLIC_ATTR, True)
    return view


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route needs a principal from the app's authenticator, except health,
    metrics and views marked :func:`public`."""
    route_handler = request.match_info.handler
    if request.path in PUBLIC_PATHS or getattr(route_handler, _PUBLIC_ATTR, False):
        return await handler(request)
    request[PRINCIPAL] = await authenticate(request)
    return await handler(request)


async def authenticate(request: web.Request) -> Principal:
    """The caller by the app's authenticator, refused when its token was revoked: what a
    public view that also takes a bearer token calls (never the authenticator alone)."""
    who = await request.app[AUTHENTICATOR].authenticate(request)
    cache = revocations(request)
    if cache is not None and cache.is_revoked(who):
        raise Unauthenticated("the token was revoked")
    return who


# Metrics sit outside the problem middleware so they see the final status of errors too.
MIDDLEWARES = (correlation_middleware, metrics_middleware, problem_middleware, auth_middleware)
