"""The edge in front of real upstream aiohttp servers on loopback.

Streaming is proven by lock-step: the upstream (or the client) waits until the
other end has already seen the first chunk before it sends the rest, so an edge
that held a body whole would never pass these tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import WSMsgType

from deploy.apidocs.openapi import document_json
from services.edge.app import create_edge_app
from services.edge.settings import EdgeSettings
from shared.http.problem import PROBLEM_CONTENT_TYPE
from shared.infra.kafka import free_port
from tests.support.apps import serving
from tests.support.edge import MiB, Upstream, upstream_app


@dataclass
class Rig:
    edge: str
    registry: Upstream
    queues: Upstream
    gateway: Upstream


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    registry, queues, gateway = Upstream("registry"), Upstream("queues"), Upstream("gateway")
    async with (
        serving(upstream_app(registry)) as registry_url,
        serving(upstream_app(queues)) as queues_url,
        serving(upstream_app(gateway)) as gateway_url,
    ):
        settings = EdgeSettings(
            upstreams={
                "registry": registry_url,
                "queues": queues_url,
                "gateway": gateway_url,
                "auth": f"http://127.0.0.1:{free_port()}",  # nothing listens there
            }
        )
        async with serving(create_edge_app(settings, openapi=document_json())) as edge_url:
            yield Rig(edge_url, registry, queues, gateway)


async def test_requests_reach_the_service_of_the_most_specific_route(rig: Rig) -> None:
    async with aiohttp.ClientSession(rig.edge) as http:
        async with http.get("/v1/printers/p1") as resp:
            assert (await resp.json())["service"] == "registry"
        async with http.get("/v1/printers/p1/release?x=1") as resp:
            body = await resp.json()
            assert body["service"] == "queues"
            assert body["path"] == "/v1/printers/p1/release?x=1"


async def test_proxy_and_correlation_headers_are_set_and_hop_by_hop_ones_dropped(rig: Rig) -> None:
    cid = str(uuid.uuid4())
    async with aiohttp.ClientSession(rig.edge) as http:
        async with http.get(
            "/v1/echo/a",
            headers={
                "X-Correlation-ID": cid,
                "X-Forwarded-For": "203.0.113.9",
                "Connection": "keep-alive, X-Private",
                "X-Private": "only for the edge",
                "Proxy-Authorization": "Basic eA==",
                "Authorization": "Bearer t",
                "Last-Event-ID": "41",
                "Host": "print.example.com",
            },
        ) as resp:
            seen = (await resp.json())["headers"]
        assert seen["X-Correlation-ID"] == cid
        # the caller is no trusted proxy: its X-Forwarded-For is replaced, not extended
        assert seen["X-Forwarded-For"] == "127.0.0.1"
        assert seen["X-Forwarded-Proto"] == "http"
        assert seen["X-Forwarded-Host"] == "print.example.com"
        assert seen["Authorization"] == "Bearer t"
        assert seen["Last-Event-ID"] == "41"
        assert "X-Private" not in seen and "Proxy-Authorization" not in seen

        async with http.get("/v1/echo/b", headers={"X-Correlation-ID": "not-a-uuid"}) as resp:
            generated = (await resp.json())["headers"]["X-Correlation-ID"]
        assert uuid.UUID(generated) and generated != "not-a-uuid"


async def test_an_upload_streams_through_without_being_held(rig: Rig) -> None:
    size = 96 * MiB
    digest = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        block = bytes(range(256)) * 4096  # 1 MiB
        for i in range(size // MiB):
            if i == 4:
                # The upstream must have the first MiB before the client sends more.
                await asyncio.wait_for(rig.queues.first_chunk.wait(), 10)
            digest.update(block)
            yield block

    async with aiohttp.ClientSession(rig.edge) as http:
        async with http.post(
            "/v1/documents", data=body(), headers={"Content-Type": "application/pdf"}
        ) as resp:
            assert resp.status == 201
            answer = await resp.json()
    assert answer == {"size": size, "sha256": digest.hexdigest()}


async def test_a_download_streams_through_without_being_held(rig: Rig) -> None:
    received = 0
    async with aiohttp.ClientSession(rig.edge) as http:
        async with http.get("/v1/jobs/big") as resp:
            assert resp.status == 200
            async for chunk in resp.content.iter_any():
                received += len(chunk)
                if received >= MiB:
                    rig.queues.client_got_first.set()
    assert received == 8 * MiB


async def test_range_etag_and_conditional_requests_pass_through(rig: Rig) -> None:
    async with aiohttp.ClientSession(rig.edge) as http:
        async with http.get("/v1/jobs/j1/document", headers={"Range": "bytes=10-19"}) as resp:
            assert resp.status == 206
            assert resp.headers["Content-Range"] == "bytes 10-19/1024"
            assert resp.headers["ETag"] == '"v1-abc"'
            assert resp.headers["Accept-Ranges"] == "bytes"
            assert await resp.read() == bytes(range(10, 20))
        async with http.get("/v1/jobs/j1/document", headers={"If-None-Match": '"v1-abc"'}) as resp:
            assert resp.status == 304


async def test_server_sent_events_arrive_one_by_one(rig: Rig) -> None:
    events: list[bytes] = []
    async with aiohttp.ClientSession(rig.edge) as http:
        async with http.get("/v1/jobs/j1/events", headers={"Last-Event-ID": "6"}) as resp:
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            async for line in resp.content:
                if line.startswith(b"data:"):
                    events.append(line.strip())
                    rig.queues.client_got_first.set()
    assert events == [b'data: {"state": "queued"}', b'data: {"state": "completed"}']
    assert rig.queues.headers[-1]["Last-Event-ID"] == "6"


async def test_websockets_pass_frames_both_ways_with_close_codes(rig: Rig) -> None:
    async with aiohttp.ClientSession(rig.edge) as http:
        async with http.ws_connect("/v1/devices/ws", protocols=("printcloud.v1",)) as ws:
            assert ws.protocol == "printcloud.v1"
            await ws.send_str("hello")
            assert (await ws.receive_str(timeout=5)) == "echo:hello"
            await ws.send_bytes(b"\x01\x02\x03")
            assert (await ws.receive_bytes(timeout=5)) == b"\x03\x02\x01"
            await ws.send_str("close:4001")
            msg = await ws.receive(timeout=5)
            assert msg.type == WSMsgType.CLOSE
            assert msg.data == 4001 and msg.extra == "bye"
        assert await asyncio.wait_for(rig.gateway.ws_closes.get(), 5) == 4001

        async with http.ws_connect("/v1/devices/ws") as ws:
            await ws.send_str("ping")
            assert (await ws.receive_str(timeout=5)) == "echo:ping"
            await ws.close(code=4002, message=b"leaving")
        assert await asyncio.wait_for(rig.gateway.ws_closes.get(), 5) == 4002


async def test_a_refused_websocket_answers_with_the_upstream_status(rig: Rig) -> None:
    async with aiohttp.ClientSession(rig.edge) as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect("/v1/refused/ws")
    assert refused.value.status == 403


async def test_an_unreachable_service_is_502_and_an_absent_one_503(rig: Rig) -> None:
    async with aiohttp.ClientSession(rig.edge) as http:
        async with http.post("/v1/token", json={}) as resp:
            assert resp.status == 502
            assert resp.content_type == PROBLEM_CONTENT_TYPE
            problem = await resp.json(content_type=None)
            assert problem["code"] == "upstream-unreachable" and "auth" in problem["detail"]
        async with http.get("/v1/jobs/j1/routing") as resp:
            assert resp.status == 503
            problem = await resp.json(content_type=None)
            assert problem["code"] == "service-unavailable" and "routing" in problem["detail"]
        async with http.get("/nowhere") as resp:
            assert resp.status == 404
            assert resp.content_type == PROBLEM_CONTENT_TYPE


async def test_the_edge_serves_the_openapi_document_and_its_health(rig: Rig) -> None:
    async with aiohttp.ClientSession(rig.edge) as http:
        async with http.get("/openapi.json") as resp:
            doc = json.loads(await resp.read())
        assert doc["openapi"].startswith("3.1") and "/v1/printers" in doc["paths"]
        async with http.get("/healthz") as resp:
            assert resp.status == 200 and (await resp.json())["status"] == "alive"
