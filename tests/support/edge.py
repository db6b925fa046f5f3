"""A stand-in for the services behind the edge: an aiohttp app that echoes what reached
it, streams in lock-step with the test, and speaks websockets."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

MiB = 1024 * 1024


@dataclass
class Upstream:
    """What the upstream servers saw, and the hooks the tests synchronise on."""

    name: str
    headers: list[dict[str, str]] = field(default_factory=list)
    first_chunk: asyncio.Event = field(default_factory=asyncio.Event)
    client_got_first: asyncio.Event = field(default_factory=asyncio.Event)
    ws_closes: asyncio.Queue[int] = field(default_factory=asyncio.Queue)


def upstream_app(up: Upstream) -> web.Application:
    """The upstream's routes (echo, upload, download, ranges, events, websockets)."""

    async def echo(request: web.Request) -> web.Response:
        up.headers.append(dict(request.headers))
        return web.json_response(
            {"service": up.name, "path": request.path_qs, "headers": dict(request.headers)}
        )

    async def upload(request: web.Request) -> web.Response:
        digest = hashlib.sha256()
        size = 0
        async for chunk in request.content.iter_chunked(64 * 1024):
            digest.update(chunk)
            size += len(chunk)
            if size >= MiB:
                up.first_chunk.set()
        return web.json_response({"size": size, "sha256": digest.hexdigest()}, status=201)

    async def download(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        await response.write(b"a" * MiB)
        await asyncio.wait_for(up.client_got_first.wait(), 10)
        for _ in range(7):
            await response.write(b"b" * MiB)
        await response.write_eof()
        return response

    async def ranged(request: web.Request) -> web.Response:
        data = bytes(range(256)) * 4
        etag = '"v1-abc"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        spec = request.headers.get("Range", "")
        if spec.startswith("bytes="):
            first, _, last = spec.removeprefix("bytes=").partition("-")
            start, end = int(first), int(last or len(data) - 1)
            return web.Response(
                status=206,
                body=data[start : end + 1],
                headers={
                    "Content-Range": f"bytes {start}-{end}/{len(data)}",
                    "ETag": etag,
                    "Accept-Ranges": "bytes",
                },
                content_type="application/pdf",
            )
        return web.Response(body=data, headers={"ETag": etag}, content_type="application/pdf")

    async def events(request: web.Request) -> web.StreamResponse:
        up.headers.append(dict(request.headers))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'id: 7\nevent: job.queued\ndata: {"state": "queued"}\n\n')
        await asyncio.wait_for(up.client_got_first.wait(), 10)
        await response.write(b'id: 8\nevent: job.completed\ndata: {"state": "completed"}\n\n')
        await response.write_eof()
        return response

    async def ws(request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse(protocols=("printcloud.v1",))
        await sock.prepare(request)
        async for msg in sock:
            if msg.type == WSMsgType.TEXT and msg.data.startswith("close:"):
                await sock.close(code=int(msg.data.split(":")[1]), message=b"bye")
            elif msg.type == WSMsgType.TEXT:
                await sock.send_str("echo:" + msg.data)
            elif msg.type == WSMsgType.BINARY:
                await sock.send_bytes(msg.data[::-1])
        up.ws_closes.put_nowait(sock.close_code or 0)
        return sock

    async def refuse_ws(_: web.Request) -> web.Response:
        return web.json_response({"title": "no"}, status=403)

    app = web.Application()
    app.router.add_route("*", "/v1/echo/{tail:.*}", echo)
    app.router.add_post("/v1/documents", upload)
    app.router.add_get("/v1/jobs/big", download)
    app.router.add_get("/v1/jobs/{job_id}/document", ranged)
    app.router.add_get("/v1/jobs/{job_id}/events", events)
    app.router.add_get("/v1/devices/ws", ws)
    app.router.add_get("/v1/printers/{printer_id}/release", echo)
    app.router.add_get("/v1/printers/{printer_id}", echo)
    app.router.add_get("/v1/refused/ws", refuse_ws)
    return app
