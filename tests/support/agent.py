"""What the agent tests share: a gateway that speaks the device protocol exactly, the
agent as a separate process, and stand-ins for the cloud's device APIs (auth's device
tokens, queues' jobs and documents) and for the registry's onboarding."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import secrets
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from services.agent.state import StateDir
from shared.crypto.device_token import device_token_message, verify_device_signature
from shared.crypto.encoding import b64url_decode, b64url_encode
from shared.crypto.keys import load_public_key, load_public_key_bytes
from shared.crypto.signatures import verify
from shared.infra.kafka import free_port
from shared.protocols.device import (
    DEVICE_FRAMES,
    Auth,
    Command,
    Error,
    Hello,
    Welcome,
    auth_message,
)
from shared.protocols.onboarding import DeviceKey, display_claim_code, poll_message
from shared.testing.documents import pdf
from tests.support.apps import serve

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 15.0


# ---------------------------------------------------------------------- the gateway side


@dataclass
class GatewaySession:
    """One authenticated device connection, seen from the gateway."""

    ws: web.WebSocketResponse
    auth: Auth
    welcome: Welcome
    frames: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int | None = None

    async def command(
        self,
        name: str,
        payload: dict[str, Any] | None = None,
        *,
        command_id: uuid.UUID | None = None,
        target: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Send a command frame; its id."""
        cmd = Command(
            command_id=command_id or uuid.uuid4(), name=name, payload=payload or {},
            target_device_id=target, issued_at=datetime.now(UTC),
        )  # fmt: skip
        await self.ws.send_str(cmd.model_dump_json())
        return cmd.command_id

    async def wait_for(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = WAIT_S
    ) -> dict[str, Any]:
        """The first frame (already received or arriving) that ``match`` accepts."""
        async with asyncio.timeout(timeout), self.arrived:
            while True:
                for frame in self.frames:
                    if match(frame):
                        return frame
                await self.arrived.wait()

    async def ack(self, command_id: uuid.UUID, timeout: float = WAIT_S) -> dict[str, Any]:
        """The command_ack for ``command_id``."""
        return await self.wait_for(
            lambda f: f["type"] == "command_ack" and f["command_id"] == str(command_id), timeout
        )

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """Frames of one type received so far."""
        return [f for f in self.frames if f["type"] == kind]


class FakeGateway:
    """The gateway side of protocol v1, checking every device frame against the models."""

    def __init__(self, public_der: bytes, kind: str = "printer", heartbeat_s: float = 0.3) -> None:
        self.key = load_public_key_bytes(public_der)
        self.device_id = uuid.uuid4()
        self.tenant_id = uuid.uuid4()
        self.kind = kind
        self.heartbeat_s = heartbeat_s
        self.refuse = 0  # refuse this many connections with a fatal error frame
        self.attempts: list[float] = []
        self.sessions: asyncio.Queue[GatewaySession] = asyncio.Queue()
        self.invalid: list[str] = []
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/v1/devices/ws"
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v1/devices/ws", self._handle)
        self._runner = await serve(app, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def next_session(self, timeout: float = WAIT_S) -> GatewaySession:
        """The next authenticated connection."""
        return await asyncio.wait_for(self.sessions.get(), timeout)

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        self.attempts.append(asyncio.get_running_loop().time())
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        nonce = b64url_encode(secrets.token_bytes(32))
        hello = Hello(nonce=nonce, gateway="test-gateway", server_time=datetime.now(UTC))
        await ws.send_str(hello.model_dump_json())
        msg = await ws.receive(timeout=10)
        auth = DEVICE_FRAMES.validate_json(msg.data)
        assert isinstance(auth, Auth)
        good = verify(self.key, auth_message(nonce), b64url_decode(auth.signature))
        if not good or self.refuse > 0:
            self.refuse = max(0, self.refuse - 1)
            code = "bad-signature" if not good else "try-later"
            error = Error(code=code, message="refused", fatal=True, in_reply_to="auth")
            await ws.send_str(error.model_dump_json())
            await ws.close()
            return ws
        welcome = Welcome(
            device_id=self.device_id, tenant_id=self.tenant_id, kind=self.kind,
            session_id=uuid.uuid4(), heartbeat_interval_s=self.heartbeat_s,
        )  # fmt: skip
        await ws.send_str(welcome.model_dump_json())
        session = GatewaySession(ws, auth, welcome)
        await self.sessions.put(session)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                DEVICE_FRAMES.validate_json(message.data)
            except ValueError as exc:
                self.invalid.append(f"{message.data[:200]}: {exc}")
                continue
            async with session.arrived:
                session.frames.append(json.loads(message.data))
                session.arrived.notify_all()
        session.close_code = ws.close_code
        session.closed.set()
        return ws


@contextlib.asynccontextmanager
async def gateway_for(state: Path, kind: str = "printer") -> AsyncIterator[FakeGateway]:
    """A running fake gateway that knows the key in ``state`` (created if needed)."""
    gateway = FakeGateway(StateDir(state).public_der(), kind)
    await gateway.start()
    try:
        yield gateway
        assert not gateway.invalid, f"the agent sent invalid frames: {gateway.invalid}"
    finally:
        await gateway.stop()


# ---------------------------------------------------------------------- the agent process


class AgentProcess:
    """``python -m services.agent run ...`` as a child process."""

    def __init__(self, state: Path, gateway_url: str, *args: str) -> None:
        self.argv = [
            sys.executable, "-m", "services.agent", "run", "--state", str(state),
            "--gateway", gateway_url, *args,
        ]  # fmt: skip
        self.log = state.parent / f"{state.name}-agent.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> AgentProcess:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, stdout=out, stderr=out)
        return self

    def kill(self) -> None:
        """SIGKILL: no chance to flush or close anything."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    async def terminate(self, timeout: float = 20) -> int:
        """SIGTERM and the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.proc.wait, timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def agent(state: Path, gateway_url: str, *args: str) -> Iterator[AgentProcess]:
    """A running agent process, killed at the end of the block."""
    process = AgentProcess(state, gateway_url, *args).start()
    try:
        yield process
    except BaseException:
        print(process.output()[-6000:])
        raise
    finally:
        process.stop()


# ---------------------------------------------------------------------- the cloud's side


@dataclass
class FakeCloud:
    """What auth and queues answer a device, with a record of what the device asked."""

    device_id: uuid.UUID
    public_der: bytes
    jobs: list[dict[str, Any]] = field(default_factory=list)
    documents: dict[str, bytes] = field(default_factory=dict)
    tokens_issued: list[str] = field(default_factory=list)
    stamps: list[int] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    fetched: list[str] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    """Jobs whose document download is answered with this status instead."""
    listings: int = 0
    challenges: list[dict[str, Any]] = field(default_factory=list)
    token_ttl: int = 600

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/device-token", self.token)
        app.router.add_get("/v1/devices/me/jobs", self.list_jobs)
        app.router.add_get("/v1/devices/me/jobs/{job_id}/document", self.document)
        app.router.add_post("/v1/devices/me/login-challenges", self.challenge)
        return app

    async def token(self, request: web.Request) -> web.Response:
        body = await request.json()
        assert body["device_id"] == str(self.device_id)
        stamp = int(body["timestamp"])
        signature = base64.urlsafe_b64decode(body["signature"] + "==")
        key = load_public_key_bytes(self.public_der)
        if not verify_device_signature(key, device_token_message(self.device_id, stamp), signature):
            return web.json_response({"detail": "bad signature"}, status=401)
        if self.stamps and stamp <= self.stamps[-1]:
            return web.json_response({"detail": "replayed timestamp"}, status=401)
        self.stamps.append(stamp)
        token = uuid.uuid4().hex
        self.tokens_issued.append(token)
        return web.json_response({"access_token": token, "expires_in": self.token_ttl})

    def _authorized(self, request: web.Request) -> bool:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return token in self.tokens_issued and token not in self.revoked

    async def list_jobs(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"detail": "token expired"}, status=401)
        self.listings += 1
        return web.json_response({"items": self.jobs})

    async def document(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"detail": "token expired"}, status=401)
        job_id = request.match_info["job_id"]
        self.fetched.append(job_id)
        if job_id in self.refused:
            return web.json_response({"detail": "the store is down"}, status=self.refused[job_id])
        return web.Response(body=self.documents[job_id], content_type="application/pdf")

    async def challenge(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"detail": "token expired"}, status=401)
        body = await request.json()
        self.challenges.append(body)
        return web.json_response(
            {"qr_payload": f"printcloud:login?c={len(self.challenges)}", "expires_in": 300},
            status=201,
        )

    def add_job(
        self, printer_id: uuid.UUID, *, fetchable: bool = True,
        settings: dict[str, Any] | None = None, title: str = "Report", owner: str = "Ada L.",
        content: bytes | None = None,
    ) -> uuid.UUID:  # fmt: skip
        job_id = uuid.uuid4()
        content = pdf(1, str(job_id)) if content is None else content
        self.documents[str(job_id)] = content
        self.jobs.append({
            "job_id": str(job_id), "printer_id": str(printer_id), "title": title, "pages": 3,
            "owner_display_name": owner, "release": "secure" if not fetchable else "immediate",
            "document": {
                "url": f"/v1/devices/me/jobs/{job_id}/document",
                "sha256": hashlib.sha256(content).hexdigest(), "size": len(content),
                "format": "application/pdf",
            },
            "settings": settings or {"copies": 1},
            "fetchable": fetchable, "requires_login": not fetchable,
        })  # fmt: skip
        return job_id


class FakeRegistry:
    """POST /v1/registrations and GET /v1/registrations/{id}: pending, expired, claimed."""

    def __init__(self) -> None:
        self.device_id, self.tenant_id = uuid.uuid4(), uuid.uuid4()
        self.registrations: list[dict[str, Any]] = []
        self.stamps: list[int] = []
        self.problems: list[str] = []
        self.polls = 0
        self.key: DeviceKey | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/registrations", self.start)
        app.router.add_get("/v1/registrations/{rid}", self.poll)
        return app

    async def start(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = DeviceKey.parse(body["public_key"])
        if self.key is not None and key != self.key:
            self.problems.append("a different key on re-registration")
        self.key = key
        if body["kind"] != "printer" or body["model"] != "Laser 5000":
            self.problems.append(f"unexpected body {body}")
        code = display_claim_code("ABCDEFGH" if not self.registrations else "HJKMNPQR")
        reg = {
            "registration_id": str(uuid.uuid4()), "kind": "printer", "status": "pending",
            "fingerprint": key.fingerprint, "expires_at": "2030-01-01T00:00:00+00:00",
            "claim_code": code, "claim_url": f"http://cloud.example/claim?code={code}",
        }  # fmt: skip
        self.registrations.append(reg)
        return web.json_response(reg, status=201)

    async def poll(self, request: web.Request) -> web.Response:
        rid = uuid.UUID(request.match_info["rid"])
        stamp = int(request.headers["X-Printcloud-Timestamp"])
        signature = b64url_decode(request.headers["X-Printcloud-Signature"])
        assert self.key is not None
        key = load_public_key(self.key.text())
        if not verify(key, poll_message(rid, stamp), signature):
            self.problems.append("bad poll signature")
            return web.json_response({"detail": "bad signature"}, status=401)
        if self.stamps and stamp <= self.stamps[-1]:
            self.problems.append(f"timestamp {stamp} does not increase")
        self.stamps.append(stamp)
        self.polls += 1
        current = dict(self.registrations[-1])
        if str(rid) != current["registration_id"]:
            self.problems.append("polled an old registration")
        if self.polls == 2:
            current["status"] = "expired"
        elif self.polls >= 4:
            current.update(status="claimed", device_id=str(self.device_id),
                           tenant_id=str(self.tenant_id))  # fmt: skip
        return web.json_response(current)
