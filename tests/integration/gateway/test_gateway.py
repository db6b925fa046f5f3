"""The gateway over real websockets, with the real registry and broker."""

from __future__ import annotations

import asyncio
import json
import uuid

import aiohttp
import pytest

from services.gateway.app import GATEWAY
from tests.support.device import TestDevice, next_frame
from tests.support.gateway import AUTH, CAPS, Rig
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def test_device_authenticates_reports_and_is_seen_online(rig: Rig) -> None:
    device = await rig.printer_device()
    async with aiohttp.ClientSession() as http:
        ws, welcome = await device.connect(http, rig.ws_url)
        assert welcome["type"] == "welcome", welcome
        assert (welcome["device_id"], welcome["kind"]) == (str(device.device_id), "printer")
        await ws.send_json({"type": "capabilities", "capabilities": CAPS})

        async def online_with_caps() -> bool:
            p = await rig.get(f"/v1/printers/{device.device_id}")
            return p["connection_state"] == "online" and p["capabilities_version"] == 1

        await eventually(online_with_caps, timeout=90)
        await ws.close()

    async def offline() -> bool:
        return (await rig.get(f"/v1/printers/{device.device_id}"))["connection_state"] == "offline"

    await eventually(offline, timeout=90)


async def test_impersonation_is_refused(rig: Rig) -> None:
    device = await rig.printer_device()
    stranger = TestDevice()
    other = await rig.printer_device()
    async with aiohttp.ClientSession() as http:
        _, answer = await stranger.connect(http, rig.ws_url)
        assert (answer["type"], answer["code"], answer["fatal"]) == (
            "error",
            "unknown-device",
            True,
        )
        _, answer = await device.connect(http, rig.ws_url, device_id=str(other.device_id))
        assert answer["code"] == "device-mismatch"
        # Signed by another key: the fingerprint is right, the signature is not.
        ws = await http.ws_connect(rig.ws_url)
        hello = json.loads((await ws.receive()).data)
        forged = other.auth_frame(hello["nonce"])
        await ws.send_json({**forged, "fingerprint": device.fingerprint, "device_id": None})
        assert json.loads((await ws.receive()).data)["code"] == "bad-signature"
        # A signature of an earlier connection's nonce is worthless on a new one.
        ws = await http.ws_connect(rig.ws_url)
        json.loads((await ws.receive()).data)
        await ws.send_json(device.auth_frame(hello["nonce"]))
        assert json.loads((await ws.receive()).data)["code"] == "bad-signature"
        ws = await http.ws_connect(rig.ws_url)
        await ws.receive()
        await ws.send_json({"type": "heartbeat", "seq": 1})
        assert json.loads((await ws.receive()).data)["code"] == "auth-required"


async def test_malformed_frames_get_errors_and_the_connection_survives(rig: Rig) -> None:
    device = await rig.printer_device()
    async with aiohttp.ClientSession() as http:
        ws, welcome = await device.connect(http, rig.ws_url)
        assert welcome["type"] == "welcome"
        cases = [
            ("{not json", "invalid-frame"),
            (json.dumps({"type": "teleport"}), "unknown-frame"),
            (json.dumps({"type": "heartbeat", "seq": "x"}), "invalid-frame"),
            (json.dumps({"type": "status", "state": "idle", "extra": 1}), "invalid-frame"),
            (json.dumps({"type": "capabilities", "capabilities": CAPS,
                         "device_id": str(uuid.uuid4())}), "not-your-device"),
            (json.dumps(device.auth_frame("x" * 43)), "already-authenticated"),
        ]  # fmt: skip
        for raw, code in cases:
            await ws.send_str(raw)
            error = await next_frame(ws, "error")
            assert (error["code"], error["fatal"]) == (code, False), raw
        await ws.send_bytes(b"\x00\x01")
        assert (await next_frame(ws, "error"))["code"] == "text-only"
        await ws.send_json({"type": "heartbeat", "seq": 2})  # still connected
        await ws.send_str("x" * (64 * 1024 + 1))
        closing = await ws.receive(timeout=10)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == 1009  # message too big
    sessions = rig.gateway.server.app[GATEWAY].sessions
    await eventually(lambda: len(sessions) == 0)


async def test_commands_are_delivered_until_acknowledged(rig: Rig) -> None:
    device = await rig.printer_device()
    path = f"/v1/devices/{device.device_id}/commands"
    r = await rig.registry.post(path, json={"name": "identify", "payload": {"n": 1}}, headers=AUTH)
    assert r.status == 202
    command_id = (await r.json())["command_id"]
    async with aiohttp.ClientSession() as http:
        ws, _ = await device.connect(http, rig.ws_url)
        first = await next_frame(ws, "command")
        assert (first["command_id"], first["payload"]) == (command_id, {"n": 1})
        await ws.close()  # no ack: it must come again
        ws, _ = await device.connect(http, rig.ws_url)
        again = await next_frame(ws, "command")
        assert again["command_id"] == command_id
        live = await rig.registry.post(path, json={"name": "identify"}, headers=AUTH)
        live_id = (await live.json())["command_id"]
        assert (await next_frame(ws, "command"))["command_id"] == live_id
        for cid in (command_id, live_id):
            await ws.send_json({"type": "command_ack", "command_id": cid, "outcome": "done"})

        async def ledger_empty() -> bool:
            return (await rig.get(path))["items"] == []

        await eventually(ledger_empty, timeout=90)
        await ws.close()
        ws, _ = await device.connect(http, rig.ws_url)
        with pytest.raises(asyncio.TimeoutError):
            await next_frame(ws, "command", timeout=1.5)
        await ws.close()


async def test_a_device_that_does_not_read_is_dropped_and_slows_no_one(rig: Rig) -> None:
    slow, quick = await rig.printer_device(), await rig.printer_device()
    big = {"blob": "x" * 200_000}
    async with aiohttp.ClientSession() as http:
        slow_ws, _ = await slow.connect(http, rig.ws_url)  # and then never reads again
        quick_ws, _ = await quick.connect(http, rig.ws_url)
        for _ in range(150):  # about 30 MB: more than the socket buffers hold
            r = await rig.registry.post(
                f"/v1/devices/{slow.device_id}/commands",
                json={"name": "deliver_file", "payload": big}, headers=AUTH,
            )  # fmt: skip
            assert r.status == 202
        r = await rig.registry.post(
            f"/v1/devices/{quick.device_id}/commands", json={"name": "identify"}, headers=AUTH
        )
        command_id = (await r.json())["command_id"]
        got = await next_frame(quick_ws, "command", timeout=10)
        assert got["command_id"] == command_id
        sessions = rig.gateway.server.app[GATEWAY].sessions
        await eventually(lambda: sessions.get(slow.device_id) is None)
        assert sessions.get(quick.device_id) is not None
        await slow_ws.close()
        await quick_ws.close()
