"""Simulated printers for benchmarks and chaos runs: each holds a real device websocket
and runs the agent's job loop (services/agent/jobs.py) without a printer behind it.

A device registers online with its own Ed25519 key and is claimed by the operator
(the real onboarding API), connects through the edge (hello, signed auth, welcome),
reports its capabilities, heartbeats, and then, like the agent:

* lists its jobs (``GET /v1/devices/me/jobs`` with a device access token) on every
  (re)connect, on every ``notify`` frame and every ``jobs_interval`` seconds;
* works through its list one job at a time: downloads the document (sha256
  checked), skips a job its journal has printed, "prints" it by recording it in its
  journal (one JSON line per print, flushed), and queues ``received``, ``printing``
  and ``completed`` frames;
* sends queued frames in order whenever connected, each marked sent once written;
* reports ``completed`` again for a listed job its journal has printed (once per
  listing, unless that report still waits to be sent): the gateway does not
  acknowledge job status frames, so one written to a websocket that died was
  lost, and the listing is the cloud's truth.

The journal is the device's own print log: chaos runs count prints from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from services.agent.printers.simulator import DEFAULT_CAPABILITIES
from shared.crypto.device_token import device_token_request
from shared.crypto.encoding import b64url_encode
from shared.crypto.keys import fingerprint, spki_der
from shared.crypto.signatures import sign
from shared.protocols.device import auth_message
from shared.protocols.onboarding import registration_headers


@dataclass
class Stats:
    """What a fleet saw, for the run's report."""

    connects: int = 0
    disconnects: int = 0
    list_calls: int = 0
    list_errors: int = 0
    download_errors: int = 0
    token_errors: int = 0
    reported_again: int = 0  # completed sent again for a job still listed after printing
    notified_at: dict[str, float] = field(default_factory=dict)  # job id -> first notify


@dataclass(eq=False)
class SimDevice:
    """One simulated printer."""

    base_url: str
    journal: Path
    stats: Stats
    jobs_interval: float = 30.0
    key: ed25519.Ed25519PrivateKey = field(default_factory=ed25519.Ed25519PrivateKey.generate)
    device_id: str = ""
    printed: set[str] = field(default_factory=set)
    outbox: list[str] = field(default_factory=list)
    ws: aiohttp.ClientWebSocketResponse | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    on_print: Callable[[str, str], None] | None = None
    _token: str = ""
    _token_until: float = 0.0
    _stamp: int = 0
    _pending: list[dict[str, Any]] = field(default_factory=list)

    # ------------------------------------------------------------------ onboarding

    @property
    def der(self) -> bytes:
        return spki_der(self.key.public_key())

    async def register(self, http: aiohttp.ClientSession) -> tuple[str, str]:
        """Ask to join; (registration id, claim code)."""
        pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        body = {"public_key": pem.decode(), "kind": "printer", "model": "Bench Simulated"}
        signed = registration_headers(self.key)  # the code is told only to the key's holder
        async with http.post(
            self.base_url + "/v1/registrations", json=body, headers=signed
        ) as resp:
            if resp.status not in (200, 201):
                raise RuntimeError(f"registration: {resp.status} {await resp.text()}")
            data = await resp.json()
        return data["registration_id"], data["claim_code"]

    # ------------------------------------------------------------------ the loop

    async def run(self, http: aiohttp.ClientSession, ws_url: str, stop: asyncio.Event) -> None:
        """Stay connected (reconnecting with a short back-off) and print; until ``stop``."""
        worker = asyncio.create_task(self._work(http, stop))
        try:
            delay = 0.2
            while not stop.is_set():
                try:
                    await self._session(http, ws_url, stop)
                    delay = 0.2
                except (aiohttp.ClientError, OSError, TimeoutError, ConnectionError, ValueError):
                    pass
                self.ws = None
                if stop.is_set():
                    break
                self.stats.disconnects += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 3.0)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def drop(self) -> bool:
        """Close the websocket from the device's side (it reconnects); False if none."""
        ws = self.ws
        if ws is None or ws.closed:
            return False
        await ws.close()
        return True

    async def _session(self, http: aiohttp.ClientSession, ws_url: str, stop: asyncio.Event) -> None:
        async with http.ws_connect(ws_url, heartbeat=None) as ws:
            hello = json.loads((await ws.receive(timeout=10)).data)
            auth = {
                "type": "auth", "protocol": 1, "fingerprint": fingerprint(self.der),
                "signature": b64url_encode(sign(self.key, auth_message(hello["nonce"]))),
                "device_id": self.device_id, "agent": "bench-sim",
            }  # fmt: skip
            await ws.send_str(json.dumps(auth))
            msg = await ws.receive(timeout=10)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError("closed before welcome")
            welcome = json.loads(msg.data)
            if welcome.get("type") != "welcome":
                raise ConnectionError(f"refused: {welcome}")
            self.ws = ws
            self.stats.connects += 1
            caps = DEFAULT_CAPABILITIES.model_dump(mode="json")
            await ws.send_str(json.dumps({"type": "capabilities", "capabilities": caps}))
            await ws.send_str(json.dumps({"type": "status", "state": "idle"}))
            await self._flush()
            self.wake.set()  # list on every (re)connect
            beat = asyncio.create_task(self._heartbeat(ws, float(welcome["heartbeat_interval_s"])))
            try:
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        continue
                    frame = json.loads(msg.data)
                    if frame.get("type") == "notify":
                        now = time.time()
                        for job_id in frame.get("job_ids") or ():
                            self.stats.notified_at.setdefault(job_id, now)
                        self.wake.set()
                    if stop.is_set():
                        break
            finally:
                beat.cancel()

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse, every: float) -> None:
        seq = 0
        with contextlib.suppress(Exception):
            while not ws.closed:
                await asyncio.sleep(every)
                await ws.send_str(json.dumps({"type": "heartbeat", "seq": seq}))
                seq += 1

    async def _flush(self) -> None:
        """Send queued frames in order; each leaves the queue once written."""
        while self.outbox and self.ws is not None and not self.ws.closed:
            try:
                await self.ws.send_str(self.outbox[0])
            except (ConnectionError, RuntimeError, aiohttp.ClientError):
                return
            self.outbox.pop(0)

    async def _report(self, job_id: str, *states: str) -> None:
        for state in states:
            self.outbox.append(_status(job_id, state))
        await self._flush()

    # ------------------------------------------------------------------ jobs

    async def _bearer(self, http: aiohttp.ClientSession) -> dict[str, str]:
        if not self._token or time.time() >= self._token_until:
            self._stamp = max(int(time.time()), self._stamp + 1)
            body = device_token_request(self.key, self.device_id, timestamp=self._stamp)
            async with http.post(self.base_url + "/v1/device-token", json=body) as resp:
                if resp.status != 200:
                    self.stats.token_errors += 1
                    raise ConnectionError(f"device token: {resp.status}")
                data = await resp.json()
            self._token = data["access_token"]
            self._token_until = time.time() + float(data.get("expires_in", 300)) * 0.8
        return {"Authorization": f"Bearer {self._token}"}

    async def _list(self, http: aiohttp.ClientSession) -> list[dict[str, Any]] | None:
        self.stats.list_calls += 1
        try:
            headers = await self._bearer(http)
            async with http.get(self.base_url + "/v1/devices/me/jobs", headers=headers) as resp:
                if resp.status == 401:
                    self._token = ""
                if resp.status != 200:
                    self.stats.list_errors += 1
                    return None
                return list((await resp.json())["items"])
        except (aiohttp.ClientError, OSError, TimeoutError, ConnectionError, ValueError):
            self.stats.list_errors += 1
            return None

    async def _download(self, http: aiohttp.ClientSession, job: dict[str, Any]) -> bool:
        doc = job["document"]
        url = doc["url"] if doc["url"].startswith("http") else self.base_url + doc["url"]
        digest = hashlib.sha256()
        size = 0
        try:
            headers = await self._bearer(http)
            async with http.get(url, headers=headers) as resp:
                if resp.status != 200:
                    self.stats.download_errors += 1
                    return False
                async for chunk in resp.content.iter_chunked(256 * 1024):
                    digest.update(chunk)
                    size += len(chunk)
        except (aiohttp.ClientError, OSError, TimeoutError, ConnectionError, ValueError):
            self.stats.download_errors += 1
            return False
        if digest.hexdigest() != doc["sha256"] or size != doc["size"]:
            self.stats.download_errors += 1
            await self._report(job["job_id"], "failed")
            return False
        return True

    async def _work(self, http: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.jobs_interval)
            self.wake.clear()
            if self.ws is None:
                continue
            listed = await self._list(http)
            if listed is None:
                await asyncio.sleep(0.5)
                self.wake.set()
                continue
            again = {job["job_id"] for job in listed} & self.printed
            for job_id in sorted(again):
                frame = _status(job_id, "completed")
                if frame not in self.outbox:  # else it still waits for a connection
                    self.stats.reported_again += 1
                    self.outbox.append(frame)
            for job in listed:
                job_id = job["job_id"]
                if not job.get("fetchable", True) or job_id in self.printed:
                    continue
                if not await self._download(http, job):
                    continue
                self._print(job_id)
                await self._report(job_id, "received", "printing", "completed")
            await self._flush()

    def _print(self, job_id: str) -> None:
        """The journal line: this device printed this job, now."""
        self.printed.add(job_id)
        line = json.dumps({"job_id": job_id, "device_id": self.device_id, "at": time.time()})
        with self.journal.open("a") as out:
            out.write(line + "\n")
        if self.on_print is not None:
            self.on_print(job_id, self.device_id)


def _status(job_id: str, state: str) -> str:
    return json.dumps({"type": "job_status", "job_id": job_id, "state": state})


@dataclass
class Fleet:
    """Many simulated printers of one tenant, onboarded and running."""

    devices: list[SimDevice]
    stats: Stats
    journal: Path
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def ids(self) -> list[str]:
        return [d.device_id for d in self.devices]

    def start(self, http: aiohttp.ClientSession, ws_url: str) -> None:
        self.tasks = [asyncio.create_task(d.run(http, ws_url, self.stop)) for d in self.devices]

    async def close(self) -> None:
        self.stop.set()
        for d in self.devices:
            with contextlib.suppress(Exception):
                await d.drop()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def prints(self) -> list[dict[str, Any]]:
        """Every line of every device's journal."""
        if not self.journal.exists():
            return []
        return [json.loads(line) for line in self.journal.read_text().splitlines() if line]


async def onboard_fleet(
    http: aiohttp.ClientSession, platform: Any, tenant_id: str, count: int, journal: Path,
    *, jobs_interval: float = 30.0,
) -> Fleet:  # fmt: skip
    """``count`` simulated printers registered, claimed for ``tenant_id`` and connected."""
    from bench.platform_harness import claim

    stats = Stats()
    devices = [SimDevice(platform.base_url, journal, stats, jobs_interval) for _ in range(count)]
    gate = asyncio.Semaphore(8)

    async def one(i: int, device: SimDevice) -> None:
        async with gate:
            _, code = await device.register(http)
            device.device_id = await claim(http, platform, tenant_id, code, f"Sim {i}")

    await asyncio.gather(*(one(i, d) for i, d in enumerate(devices)))
    fleet = Fleet(devices, stats, journal)
    fleet.start(http, platform.gateway_url)
    return fleet
