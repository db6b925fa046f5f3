"""The edge: one public base URL in front of every service.

A thin reverse proxy. Each request goes to the service :data:`ROUTES` names for
its path (most specific match), untouched but for the proxy headers:

* bodies stream both ways in chunks, never held whole (a 1 GiB upload costs a
  few chunks of memory); ``Range``, ``Content-Range``, ``ETag``, ``Last-Event-ID``
  and every other end-to-end header pass as they are; server-sent events are
  written out as each chunk arrives;
* websockets are proxied frame by frame in both directions, pings and pongs
  included, and a close code on one side closes the other with the same code;
* hop-by-hop headers (RFC 9110 §7.6.1) are dropped; ``X-Forwarded-For``,
  ``X-Forwarded-Proto`` and ``X-Forwarded-Host`` are set, and every request
  carries an ``X-Correlation-ID`` (the caller's when it is a UUID);
* a service that is not deployed answers ``503``, one that cannot be reached
  ``502``, one that does not answer in time ``504`` (problem+json).

What the edge refuses before any service sees it (problem+json):

* a path that is not in normal form — dot segments (``/v1/../metrics``), encoded
  dots, slashes or backslashes (``%2e``, ``%2f``, ``%5c``), backslashes or empty
  segments (``//``): ``400 path-not-normalized``, so that what the edge routes on
  is exactly what the service receives; paths outside the route table (``/metrics``,
  ``/readyz``, a service's internal endpoints) are ``404``;
* a body larger than the route allows (``max_body_bytes``, or
  ``max_stream_body_bytes`` on stream routes), by its ``Content-Length`` or as it
  streams: ``413``; a body with a ``Content-Encoding`` other than ``identity``:
  ``415`` (a compressed body is never passed on as if it were the content);
* a websocket beyond ``max_websockets_per_client`` open ones from the same client:
  ``429``. Websockets are proxied without permessage-deflate and with messages
  bounded by ``ws_max_message_bytes`` in both directions;
* a server-sent event stream beyond ``max_event_streams_per_client`` open ones from
  the same client: ``429 too-many-streams`` (the service caps them per credential too);
* a client too slow to send a request's head or body (``http_header_timeout_s``,
  ``http_body_idle_timeout_s``): the connection is dropped
  (:mod:`shared.http.slowclients`);
* ``X-Forwarded-For`` from a peer that is not a trusted proxy is replaced by the
  peer's address.

The edge serves ``GET /openapi.json`` (the document of the whole public API) and
``GET /healthz`` itself. Run it with ``printcloud edge`` (upstreams default to the
local platform's ports, the OpenAPI document built in the process) or
``python -m services.edge``; upstream URLs come from ``PRINTCLOUD_EDGE_UPSTREAMS``
(JSON: service -> base URL), the document from ``PRINTCLOUD_EDGE_OPENAPI_FILE``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

from services.edge.routes import ROUTES, Route, RouteTable
from services.edge.settings import EdgeSettings
from shared.errors import TooManyRequests
from shared.http.forwarded import client_address, is_trusted, peer_address
from shared.http.middleware import CORRELATION_HEADER
from shared.http.problem import from_domain_error, problem_response
from shared.http.streams import StreamSlots
from shared.logging import configure_logging, get_logger

log = get_logger(__name__)

CHUNK = 64 * 1024

# RFC 9110 §7.6.1; plus Host (set for the upstream) and Content-Length of a
# chunked message (recomputed by the transport).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_WS_HANDSHAKE = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-accept",
        "sec-websocket-protocol",
    }
)
_SENDABLE_CLOSE = range(1000, 5000)
_RESERVED_CLOSE = frozenset({1004, 1005, 1006, 1015})


EDGE_SETTINGS = web.AppKey("edge_settings", EdgeSettings)
TABLE = web.AppKey("route_table", RouteTable)
SESSION = web.AppKey("upstream_session", aiohttp.ClientSession)
OPENAPI = web.AppKey("openapi_json", bytes)
WEBSOCKETS: web.AppKey[collections.Counter[str]] = web.AppKey("open_websockets")
EVENT_STREAMS = web.AppKey("event_streams", StreamSlots)
"""Server-sent event streams open through the edge, per client address."""


def _connection_tokens(headers: Mapping[str, str]) -> set[str]:
    """Header names listed in ``Connection`` (they are hop-by-hop too)."""
    values = headers.getall("Connection", []) if hasattr(headers, "getall") else []
    return {t.strip().lower() for v in values for t in v.split(",") if t.strip()}


def end_to_end(headers: Any, *, drop: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """``headers`` without the hop-by-hop ones (and ``drop``), repeated ones kept."""
    skip = HOP_BY_HOP | _connection_tokens(headers) | drop
    return [(k, v) for k, v in headers.items() if k.lower() not in skip]


def forward_headers(
    request: web.Request, settings: EdgeSettings, *, drop: frozenset[str] = frozenset()
) -> list[tuple[str, str]]:
    """What the upstream receives: the caller's end-to-end headers, the proxy
    headers and the correlation id."""
    proxy = {"host", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"}
    out = end_to_end(request.headers, drop=drop | proxy | {CORRELATION_HEADER.lower()})
    earlier = ", ".join(request.headers.getall("X-Forwarded-For", []))
    client = peer_address(request)
    if earlier and is_trusted(client, settings.trusted_proxies):
        out.append(("X-Forwarded-For", f"{earlier}, {client}"))
    else:
        out.append(("X-Forwarded-For", client))
    out.append(("X-Forwarded-Proto", settings.forwarded_proto or request.scheme))
    out.append(("X-Forwarded-Host", request.headers.get("Host", request.host)))
    out.append((CORRELATION_HEADER, str(_correlation_id(request))))
    return out


def _correlation_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.headers.get(CORRELATION_HEADER, ""))
    except ValueError:
        return uuid.uuid4()


def _problem(request: web.Request, status: int, title: str, detail: str, code: str) -> web.Response:
    response = problem_response(status, title, detail, code=code, instance=request.path)
    cid = request.headers.get(CORRELATION_HEADER)
    if cid:
        response.headers[CORRELATION_HEADER] = cid
    return response


def _upstream_url(base: str, request: web.Request) -> str:
    return base.rstrip("/") + request.rel_url.raw_path_qs


class BodyTooLarge(Exception):
    """The request body went past the route's limit while streaming."""


async def _body(request: web.Request, limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in request.content.iter_chunked(CHUNK):
        seen += len(chunk)
        if seen > limit:
            raise BodyTooLarge
        yield chunk


def _normal_form_error(raw_path: str) -> str | None:
    """Why ``raw_path`` (as sent, before any decoding) is not in normal form, or None."""
    lowered = raw_path.lower()
    for encoded, what in (("%2e", "an encoded dot"), ("%2f", "an encoded slash"),
                          ("%5c", "an encoded backslash")):  # fmt: skip
        if encoded in lowered:
            return f"the path holds {what} ({encoded})"
    if "\\" in raw_path:
        return "the path holds a backslash"
    segments = raw_path.split("/")[1:]
    if any(seg in (".", "..") for seg in segments):
        return "the path holds a dot segment ('.' or '..')"
    if any(seg == "" for seg in segments[:-1]):
        return "the path holds an empty segment ('//')"
    return None


def _body_limit(request: web.Request, route: Route, settings: EdgeSettings) -> int:
    return settings.max_stream_body_bytes if route.stream else settings.max_body_bytes


def _too_large(request: web.Request, limit: int) -> web.Response:
    return _problem(
        request,
        413,
        "Request entity too large",
        f"the body is larger than this route accepts ({limit} bytes)",
        "request-entity-too-large",
    )


async def proxy(request: web.Request) -> web.StreamResponse:
    """Forward one request to the service the table names for its path."""
    why = _normal_form_error(request.rel_url.raw_path)
    if why is not None:
        return _problem(request, 400, "Path not in normal form", why, "path-not-normalized")
    route = request.app[TABLE].resolve(request.path)
    if route is None:
        return _problem(request, 404, "Not found", "no such path", "not-found")
    settings = request.app[EDGE_SETTINGS]
    base = settings.upstreams.get(route.service)
    if not base:
        return _problem(
            request,
            503,
            "Service unavailable",
            f"the {route.service} service is not part of this deployment",
            "service-unavailable",
        )
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _proxy_websocket(request, route, base)
    return await _proxy_http(request, route, base)


async def _proxy_http(request: web.Request, route: Route, base: str) -> web.StreamResponse:
    settings = request.app[EDGE_SETTINGS]
    limit = _body_limit(request, route, settings)
    if request.content_length is not None and request.content_length > limit:
        return _too_large(request, limit)
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if request.body_exists and encoding not in ("", "identity"):
        return _problem(
            request,
            415,
            "Unsupported content encoding",
            f"send the body without a Content-Encoding (got {encoding[:40]!r})",
            "unsupported-content-encoding",
        )
    headers = forward_headers(request, settings)
    data = _body(request, limit) if request.body_exists else None
    if data is None:
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
    session = request.app[SESSION]
    try:
        upstream = await session.request(
            request.method,
            _upstream_url(base, request),
            headers=headers,
            data=data,
            allow_redirects=False,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        )
    except BodyTooLarge:
        return _too_large(request, limit)
    except TimeoutError:
        log.warning("upstream timed out", service=route.service, path=request.path)
        return _problem(
            request,
            504,
            "Gateway timeout",
            f"the {route.service} service did not answer in time",
            "upstream-timeout",
        )
    except aiohttp.ClientError as exc:
        if isinstance(exc.__cause__, BodyTooLarge) or isinstance(exc.__context__, BodyTooLarge):
            return _too_large(request, limit)
        log.warning("upstream unreachable", service=route.service, error=type(exc).__name__)
        return _problem(
            request,
            502,
            "Bad gateway",
            f"the {route.service} service cannot be reached",
            "upstream-unreachable",
        )
    async with upstream:
        if not upstream.headers.get("Content-Type", "").startswith("text/event-stream"):
            return await _relay(request, route, upstream)
        client = client_address(request, settings.trusted_proxies)
        limit = settings.max_event_streams_per_client
        try:
            with request.app[EVENT_STREAMS].hold(client, limit, "this client"):
                return await _relay(request, route, upstream)
        except TooManyRequests as exc:
            refused = from_domain_error(exc, instance=request.path)
            cid = request.headers.get(CORRELATION_HEADER)
            if cid:
                refused.headers[CORRELATION_HEADER] = cid
            return refused


async def _relay(
    request: web.Request, route: Route, upstream: aiohttp.ClientResponse
) -> web.StreamResponse:
    """Pass the upstream's answer on as it comes (server-sent events unbuffered)."""
    response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
    for name, value in end_to_end(upstream.headers):
        response.headers.add(name, value)
    if upstream.headers.get("Content-Type", "").startswith("text/event-stream"):
        response.headers["X-Accel-Buffering"] = "no"
    await response.prepare(request)
    try:
        async for chunk in upstream.content.iter_any():
            await response.write(chunk)
    except (TimeoutError, aiohttp.ClientError) as exc:
        # The status is sent: the caller sees a truncated body, never a false end.
        log.warning("upstream broke off", service=route.service, error=type(exc).__name__)
        if request.transport is not None:
            request.transport.abort()
        return response
    await response.write_eof()
    return response


def _close_code(code: int | None) -> int:
    if code is None or code not in _SENDABLE_CLOSE or code in _RESERVED_CLOSE:
        return WSCloseCode.OK if code in (None, 1005) else WSCloseCode.GOING_AWAY
    return code


async def _pump(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
) -> None:
    """Copy frames from ``source`` to ``sink`` until ``source`` closes; then close
    ``sink`` with the same code."""
    code: int | None = None
    message = b""
    echo = False
    while True:
        msg = await source.receive()
        if msg.type == WSMsgType.TEXT:
            await sink.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await sink.send_bytes(msg.data)
        elif msg.type == WSMsgType.PING:
            await sink.ping(msg.data)
        elif msg.type == WSMsgType.PONG:
            await sink.pong(msg.data)
        elif msg.type == WSMsgType.CLOSE:
            code, message, echo = msg.data, (msg.extra or "").encode(), True
            break
        else:  # CLOSING, CLOSED, ERROR: this side is already closing or went away
            code = source.close_code or WSCloseCode.GOING_AWAY
            break
    code = _close_code(code)
    if echo and not source.closed:  # answer the close frame this side sent, same code
        with contextlib.suppress(Exception):
            await source.close(code=code, message=message)
    if not sink.closed:
        with contextlib.suppress(Exception):
            await sink.close(code=code, message=message)


async def _proxy_websocket(request: web.Request, route: Route, base: str) -> web.StreamResponse:
    settings = request.app[EDGE_SETTINGS]
    client = client_address(request, settings.trusted_proxies)
    open_sockets = request.app[WEBSOCKETS]
    if open_sockets[client] >= settings.max_websockets_per_client:
        response = _problem(
            request,
            429,
            "Too many websockets",
            f"this client holds {open_sockets[client]} websockets already "
            f"(at most {settings.max_websockets_per_client})",
            "too-many-requests",
        )
        response.headers["Retry-After"] = "30"
        return response
    open_sockets[client] += 1
    try:
        return await _proxy_websocket_counted(request, route, base, settings)
    finally:
        open_sockets[client] -= 1
        if open_sockets[client] <= 0:
            del open_sockets[client]


async def _proxy_websocket_counted(
    request: web.Request, route: Route, base: str, settings: EdgeSettings
) -> web.StreamResponse:
    headers = forward_headers(request, settings, drop=_WS_HANDSHAKE | {"content-length"})
    protocols = [
        p.strip()
        for v in request.headers.getall("Sec-WebSocket-Protocol", [])
        for p in v.split(",")
        if p.strip()
    ]
    url = _upstream_url(base.replace("http", "ws", 1), request)
    try:
        upstream = await request.app[SESSION].ws_connect(
            url,
            headers=headers,
            protocols=protocols,
            autoping=False,
            autoclose=False,
            max_msg_size=settings.ws_max_message_bytes,
            compress=0,
        )
    except aiohttp.WSServerHandshakeError as exc:
        return _problem(
            request,
            exc.status if exc.status >= 400 else 502,
            "Websocket refused",
            f"the {route.service} service refused the websocket ({exc.status})",
            "websocket-refused",
        )
    except (aiohttp.ClientError, TimeoutError):
        return _problem(
            request,
            502,
            "Bad gateway",
            f"the {route.service} service cannot be reached",
            "upstream-unreachable",
        )
    downstream = web.WebSocketResponse(
        protocols=[upstream.protocol] if upstream.protocol else (),
        autoping=False,
        autoclose=False,
        max_msg_size=settings.ws_max_message_bytes,
        compress=False,
    )
    try:
        await downstream.prepare(request)
    except Exception:
        await upstream.close(code=WSCloseCode.GOING_AWAY)
        raise
    tasks = [
        asyncio.create_task(_pump(downstream, upstream)),
        asyncio.create_task(_pump(upstream, downstream)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        # The other direction ends as soon as the closed side's close frame went out.
        await asyncio.wait(tasks, timeout=5)
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(BaseException):
                await t
        if not upstream.closed:
            await upstream.close(code=WSCloseCode.GOING_AWAY)
    return downstream


async def edge_healthz(_: web.Request) -> web.Response:
    """The edge process answers (it checks no service: use per-service readiness)."""
    return web.json_response({"status": "alive"})


async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of the whole public API."""
    return web.Response(body=request.app[OPENAPI], content_type="application/json")


def create_edge_app(
    settings: EdgeSettings | None = None,
    routes: tuple[Route, ...] = ROUTES,
    openapi: bytes | None = None,
) -> web.Application:
    """The edge's aiohttp app (the upstream session lives for the app's lifetime).

    ``openapi`` is the JSON document served at ``/openapi.json``; without it, the file
    ``settings.openapi_file`` names, if any (else ``/openapi.json`` is not served)."""
    settings = settings or EdgeSettings()
    app = web.Application(client_max_size=0)
    app[EDGE_SETTINGS] = settings
    app[TABLE] = RouteTable(routes)
    app[WEBSOCKETS] = collections.Counter()
    app[EVENT_STREAMS] = StreamSlots("event streams")
    app.router.add_get("/healthz", edge_healthz)
    if openapi is None and settings.openapi_file is not None:
        openapi = settings.openapi_file.read_bytes()
    if openapi is not None:
        app[OPENAPI] = openapi
        app.router.add_get("/openapi.json", openapi_json)
    app.router.add_route("*", "/{tail:.*}", proxy)

    async def session(app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None,
            sock_connect=settings.connect_timeout_s,
            sock_read=None,
        )
        connector = aiohttp.TCPConnector(limit=0, enable_cleanup_closed=True)
        async with aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        ) as http:
            app[SESSION] = http
            yield

    app.cleanup_ctx.append(session)
    return app


async def serve(settings: EdgeSettings | None = None, openapi: bytes | None = None) -> None:
    """Run the edge until SIGTERM/SIGINT, then finish in-flight requests."""
    from shared.service import serve_app

    settings = settings or EdgeSettings()
    configure_logging("edge", settings.log_level, settings.log_json)
    app = create_edge_app(settings, openapi=openapi)
    await serve_app("edge", app, settings, lambda: None)


def main(settings: EdgeSettings | None = None, openapi: bytes | None = None) -> None:
    """Run the edge in this process (``python -m services.edge``)."""
    asyncio.run(serve(settings, openapi))
