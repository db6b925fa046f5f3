"""What the public edge refuses before any service sees it: paths not in normal form,
oversized or encoded bodies, compressed or oversized websocket messages, too many
websockets or event streams from one client, and forged X-Forwarded-For."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from yarl import URL

from services.edge.app import create_edge_app
from services.edge.routes import Route
from services.edge.settings import EdgeSettings
from shared.http.problem import PROBLEM_CONTENT_TYPE
from tests.support.waiting import eventually

ROUTES = (
    Route("/v1/things", "things"),
    Route("/v1/uploads", "things", stream=True),
    Route("/v1/ws", "things", websocket=True),
)


@dataclass
class Seen:
    paths: list[str] = field(default_factory=list)
    forwarded: list[str] = field(default_factory=list)
    bodies: list[int] = field(default_factory=list)


def _upstream(seen: Seen) -> web.Application:
    async def anything(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            ws = web.WebSocketResponse(max_msg_size=0)
            await ws.prepare(request)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await ws.send_str(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await ws.send_bytes(msg.data)
            return ws
        if request.path.endswith("/events"):  # a server-sent event stream, open until left
            stream = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await stream.prepare(request)
            await stream.write(b": open\n\n")
            await asyncio.Event().wait()
        seen.paths.append(request.raw_path)
        seen.forwarded.append(request.headers.get("X-Forwarded-For", ""))
        body = await request.read()
        seen.bodies.append(len(body))
        return web.json_response({"ok": True, "size": len(body)})

    app = web.Application(client_max_size=0)
    app.router.add_route("*", "/{tail:.*}", anything)
    return app


@dataclass
class Edge:
    url: URL
    seen: Seen


@contextlib.asynccontextmanager
async def edge_with(**overrides: object) -> AsyncIterator[Edge]:
    seen = Seen()
    upstream = TestServer(_upstream(seen), host="127.0.0.1")
    await upstream.start_server()
    settings = EdgeSettings(
        http_port=0, upstreams={"things": str(upstream.make_url("/")).rstrip("/")}, **overrides
    )
    edge = TestServer(create_edge_app(settings, routes=ROUTES), host="127.0.0.1")
    await edge.start_server()
    try:
        yield Edge(edge.make_url("/"), seen)
    finally:
        await edge.close()
        await upstream.close()


async def _raw_get(edge: Edge, raw_path: str) -> tuple[int, str, str]:
    """Send ``raw_path`` byte for byte (no client-side normalisation)."""
    reader, writer = await asyncio.open_connection(edge.url.host, edge.url.port)
    writer.write(f"GET {raw_path} HTTP/1.1\r\nHost: edge\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = data.decode(errors="replace").partition("\r\n\r\n")
    status = int(head.split()[1])
    ctype = next((line.split(":", 1)[1].strip() for line in head.split("\r\n")
                  if line.lower().startswith("content-type:")), "")  # fmt: skip
    return status, ctype, body


@pytest.mark.parametrize(
    "raw_path",
    [
        "/v1/things/../../metrics",
        "/v1/things/%2e%2e/%2E%2E/metrics",
        "/v1/things/.%2e/readyz",
        "/v1/things/x%2f..%2f..%2fmetrics",
        "/v1/things/x%5c..%5cmetrics",
        "/v1/things//x",
        "/v1/things/./x",
    ],
)
async def test_a_path_not_in_normal_form_is_refused_before_routing(raw_path: str) -> None:
    async with edge_with() as edge:
        status, ctype, body = await _raw_get(edge, raw_path)
        assert status == 400, body
        assert ctype.startswith(PROBLEM_CONTENT_TYPE)
        assert json.loads(body)["code"] == "path-not-normalized"
        assert edge.seen.paths == []


@pytest.mark.parametrize("path", ["/metrics", "/readyz", "/healthz/../metrics", "/v1"])
async def test_internal_endpoints_are_not_reachable_through_the_edge(path: str) -> None:
    async with edge_with() as edge:
        status, _, _ = await _raw_get(edge, path)
        assert status in (400, 404)
        assert edge.seen.paths == []


async def test_a_path_in_normal_form_reaches_the_service_unchanged() -> None:
    async with edge_with() as edge:
        status, _, _ = await _raw_get(edge, "/v1/things/a%20b?x=1")
        assert status == 200
        assert edge.seen.paths == ["/v1/things/a%20b?x=1"]


async def test_bodies_are_bounded_by_declared_length_and_while_streaming() -> None:
    async with edge_with(max_body_bytes=4096) as edge, aiohttp.ClientSession() as http:
        async with http.post(edge.url / "v1/things", data=b"x" * 4096) as r:
            assert r.status == 200
        async with http.post(edge.url / "v1/things", data=b"x" * 5000) as r:
            assert r.status == 413
            assert (await r.json())["code"] == "request-entity-too-large"

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(64):
                yield b"y" * 1024

        async with http.post(edge.url / "v1/things", data=chunks()) as r:
            assert r.status == 413
        assert edge.seen.bodies == [4096]


async def test_stream_routes_take_larger_bodies_up_to_their_own_limit() -> None:
    overrides = {"max_body_bytes": 4096, "max_stream_body_bytes": 64 * 1024}
    async with edge_with(**overrides) as edge, aiohttp.ClientSession() as http:
        async with http.post(edge.url / "v1/uploads", data=b"z" * 60_000) as r:
            assert r.status == 200
        async with http.post(edge.url / "v1/uploads", data=b"z" * 70_000) as r:
            assert r.status == 413


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
async def test_a_compressed_body_is_refused_not_inflated(encoding: str) -> None:
    bomb = (
        gzip.compress(b"{" * (8 * 1024 * 1024))
        if encoding == "gzip"
        else zlib.compress(b"0" * 1024)
    )
    async with edge_with() as edge, aiohttp.ClientSession() as http:
        headers = {"Content-Encoding": encoding, "Content-Type": "application/json"}
        async with http.post(edge.url / "v1/things", data=bomb, headers=headers) as r:
            if encoding == "br":  # the HTTP parser itself refuses an encoding it cannot read
                assert r.status == 400
            else:
                assert r.status == 415
                assert (await r.json())["code"] == "unsupported-content-encoding"
        assert edge.seen.bodies == []


async def test_websockets_offer_no_compression_and_bound_their_messages() -> None:
    async with edge_with(ws_max_message_bytes=4096) as edge, aiohttp.ClientSession() as http:
        async with http.ws_connect(edge.url / "v1/ws", compress=15) as ws:
            assert ws.compress == 0, "the edge must not accept permessage-deflate"
            await ws.send_str("hello")
            assert (await ws.receive(timeout=5)).data == "hello"
            await ws.send_bytes(b"q" * 5000)
            msg = await ws.receive(timeout=5)
            assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
            assert ws.close_code == 1009  # message too big


async def test_one_client_may_hold_only_so_many_websockets() -> None:
    async with edge_with(max_websockets_per_client=2) as edge, aiohttp.ClientSession() as http:
        first = await http.ws_connect(edge.url / "v1/ws")
        second = await http.ws_connect(edge.url / "v1/ws")
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(edge.url / "v1/ws")
        assert refused.value.status == 429
        await first.close()
        await asyncio.sleep(0.2)
        third = await http.ws_connect(edge.url / "v1/ws")
        await asyncio.gather(second.close(), third.close())


async def test_one_client_may_hold_only_so_many_event_streams() -> None:
    async with (
        edge_with(max_event_streams_per_client=2) as edge,
        aiohttp.ClientSession() as http,
    ):
        url = edge.url / "v1/things/events"
        first, second = await http.get(url), await http.get(url)
        assert first.status == second.status == 200
        assert await first.content.readline() == b": open\n"
        refused = await http.get(url)
        assert refused.status == 429
        assert refused.content_type == PROBLEM_CONTENT_TYPE
        assert (await refused.json())["code"] == "too-many-streams"
        assert refused.headers["Retry-After"].isdigit()
        assert (await http.get(edge.url / "v1/things")).status == 200  # other requests pass
        first.close()

        async def slot_given_back() -> bool:
            again = await http.get(url)
            again.close()
            return again.status == 200

        await eventually(slot_given_back)
        second.close()


async def test_forwarded_for_is_trusted_only_from_configured_proxies() -> None:
    forged = {"X-Forwarded-For": "203.0.113.9"}
    async with edge_with() as edge, aiohttp.ClientSession() as http:
        async with http.get(edge.url / "v1/things", headers=forged) as r:
            assert r.status == 200
        assert edge.seen.forwarded == ["127.0.0.1"]
    async with edge_with(trusted_proxies=["127.0.0.0/8"]) as edge, aiohttp.ClientSession() as http:
        async with http.get(edge.url / "v1/things", headers=forged) as r:
            assert r.status == 200
        assert edge.seen.forwarded == ["203.0.113.9, 127.0.0.1"]
