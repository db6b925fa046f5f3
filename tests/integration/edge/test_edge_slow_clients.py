"""Slow clients are cut off in seconds: at the edge (and in every service, which run on
the same runner, :func:`shared.service.app_runner`), a request's head trickled byte by
byte and a body that stalls end the connection; a client in time is answered."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.test_utils import TestServer

from services.edge.app import create_edge_app
from services.edge.routes import Route
from services.edge.settings import EdgeSettings
from shared.service import app_runner

ROUTES = (Route("/v1/things", "things"),)


def _upstream(bodies: list[int]) -> web.Application:
    async def anything(request: web.Request) -> web.Response:
        body = await request.read()
        bodies.append(len(body))
        return web.json_response({"size": len(body)})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    return app


@contextlib.asynccontextmanager
async def edge(bodies: list[int]) -> AsyncIterator[tuple[str, int]]:
    """The edge on its production runner, with limits of one and two seconds."""
    upstream = TestServer(_upstream(bodies), host="127.0.0.1")
    await upstream.start_server()
    settings = EdgeSettings(
        http_port=0, upstreams={"things": str(upstream.make_url("/")).rstrip("/")},
        http_header_timeout_s=1, http_body_idle_timeout_s=2,
    )  # fmt: skip
    runner = app_runner(create_edge_app(settings, routes=ROUTES), settings)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        yield host, port
    finally:
        await runner.cleanup()
        await upstream.close()


async def _trickle(writer: asyncio.StreamWriter, data: bytes, pause_s: float) -> bool:
    """Send ``data`` one byte per ``pause_s``; False as soon as the server cut us off."""
    for i in range(len(data)):
        try:
            writer.write(data[i : i + 1])
            await writer.drain()
        except ConnectionError:
            return False
        if writer.transport.is_closing():
            return False
        await asyncio.sleep(pause_s)
    return True


async def _answer(reader: asyncio.StreamReader) -> bytes:
    """What the server sent before it closed (generously waited for)."""
    with contextlib.suppress(ConnectionError):
        return await asyncio.wait_for(reader.read(), 60)
    return b""


async def test_a_head_trickled_byte_by_byte_is_cut_off() -> None:
    bodies: list[int] = []
    async with edge(bodies) as (host, port):
        reader, writer = await asyncio.open_connection(host, port)
        head = b"GET /v1/things HTTP/1.1\r\nHost: edge\r\nX-Pad: " + b"a" * 4000 + b"\r\n\r\n"
        # At five bytes a second this head would take over 13 minutes: the edge ends the
        # connection long before (the trickle stops when the socket is closed).
        sender = asyncio.create_task(_trickle(writer, head, 0.2))
        answer = await _answer(reader)
        assert answer == b""  # dropped, never answered
        assert await asyncio.wait_for(sender, 60) is False
        writer.close()
    assert bodies == []  # nothing reached the service


async def test_a_body_that_stalls_is_cut_off() -> None:
    bodies: list[int] = []
    async with edge(bodies) as (host, port):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            b"POST /v1/things HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b"[" * 10
        )
        await writer.drain()  # ...and the other 990 bytes never come
        answer = await _answer(reader)
        assert not answer.startswith(b"HTTP/1.1 2"), answer
        writer.close()
    assert 1000 not in bodies


async def test_a_client_in_time_is_answered_and_kept_alive() -> None:
    bodies: list[int] = []
    async with edge(bodies) as (host, port):
        reader, writer = await asyncio.open_connection(host, port)
        for _ in range(2):  # two requests on one kept-alive connection
            body = b'{"n": 1}'
            writer.write(
                b"POST /v1/things HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
            status = await asyncio.wait_for(reader.readline(), 30)
            assert status.startswith(b"HTTP/1.1 200"), status
            length = 0
            while (line := await asyncio.wait_for(reader.readline(), 30)) != b"\r\n":
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
        writer.close()
    assert bodies == [8, 8]
