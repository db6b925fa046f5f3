"""One device connection: challenge, authentication, then frames both ways."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from pydantic import ValidationError

from services.gateway.credentials import Credential, CredentialCache
from services.gateway.settings import GatewaySettings
from services.gateway.ws import FRAMES_IN, REFUSED, Session
from shared.crypto.encoding import b64url_decode
from shared.crypto.signatures import verify
from shared.logging import get_logger
from shared.protocols.device import (
    DEVICE_FRAMES,
    Auth,
    Error,
    Hello,
    Welcome,
    _Frame,
    auth_message,
)

log = get_logger(__name__)
POLICY = WSCloseCode.POLICY_VIOLATION


class Refused(Exception):
    """Authentication failed; ``code`` goes into the fatal error frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


async def _send(ws: web.WebSocketResponse, frame: _Frame) -> None:
    await ws.send_str(frame.model_dump_json())


async def authenticate(
    ws: web.WebSocketResponse, cache: CredentialCache, settings: GatewaySettings
) -> Credential:
    """Challenge the device and check its signed answer; Refused otherwise."""
    nonce = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    await _send(ws, Hello(nonce=nonce, gateway=settings.instance, server_time=datetime.now(UTC)))
    try:
        msg = await ws.receive(timeout=settings.auth_timeout_s)
    except TimeoutError:
        raise Refused("auth-timeout", "no auth frame in time") from None
    if msg.type != WSMsgType.TEXT:
        raise Refused("auth-required", "the first frame must be auth")
    try:
        frame = DEVICE_FRAMES.validate_json(msg.data)
    except ValidationError as exc:
        raise Refused("invalid-frame", _reason(exc)) from None
    if not isinstance(frame, Auth):
        raise Refused("auth-required", "the first frame must be auth")
    credential = cache.lookup(frame.fingerprint)
    if credential is None:
        raise Refused("unknown-device", "no device is claimed with this key")
    if frame.device_id is not None and frame.device_id != credential.device_id:
        raise Refused("device-mismatch", "this key belongs to another device")
    try:
        signature = b64url_decode(frame.signature)
    except ValueError:
        raise Refused("bad-signature", "signature is not base64url") from None
    if not verify(credential.key, auth_message(nonce), signature):
        raise Refused("bad-signature", "the signature does not match the key and nonce")
    return credential


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


FrameHandler = Callable[[Session, _Frame], Awaitable[None]]


async def serve_device(
    request: web.Request,
    cache: CredentialCache,
    settings: GatewaySettings,
    on_open: Callable[[Session], Awaitable[None]],
    on_frame: FrameHandler,
    on_close: Callable[[Session], Awaitable[None]],
) -> web.WebSocketResponse:
    """The whole life of one device websocket."""
    ws = web.WebSocketResponse(
        max_msg_size=settings.max_frame_bytes, heartbeat=settings.heartbeat_interval_s
    )
    await ws.prepare(request)
    try:
        credential = await authenticate(ws, cache, settings)
    except Refused as refused:
        REFUSED.labels(refused.code).inc()
        log.info("device refused", code=refused.code, reason=refused.message)
        await _send(ws, Error(code=refused.code, message=refused.message, fatal=True))
        await ws.close(code=POLICY, message=refused.code.encode())
        return ws
    transport = request.transport
    session = Session(
        ws,
        credential,
        queue=asyncio.Queue(settings.send_queue_frames),
        transport=transport if isinstance(transport, asyncio.Transport) else None,
    )
    writer = asyncio.create_task(session.writer())
    session.send(
        Welcome(
            device_id=credential.device_id,
            tenant_id=credential.tenant_id,
            kind="connector" if credential.kind == "connector" else "printer",
            session_id=session.session_id,
            heartbeat_interval_s=settings.heartbeat_interval_s,
        )
    )
    try:
        await on_open(session)
        await _receive_loop(session, settings, on_frame)
    finally:
        # aiohttp may cancel this handler once the peer is gone; the goodbye
        # (disconnected event, socket close) must happen all the same.
        cleanup = asyncio.ensure_future(_close(session, writer, on_close))
        _CLEANUPS.add(cleanup)
        cleanup.add_done_callback(_CLEANUPS.discard)
        await asyncio.shield(cleanup)
    return ws


_CLEANUPS: set[asyncio.Future[None]] = set()


async def _close(
    session: Session, writer: asyncio.Task[None], on_close: Callable[[Session], Awaitable[None]]
) -> None:
    if session.queue.full():
        writer.cancel()
    else:
        session.queue.put_nowait(None)
    await asyncio.gather(writer, return_exceptions=True)
    await on_close(session)
    if not session.ws.closed:
        await session.ws.close()


async def _receive_loop(
    session: Session, settings: GatewaySettings, on_frame: FrameHandler
) -> None:
    ws = session.ws
    while not ws.closed:
        try:
            msg = await ws.receive(timeout=settings.idle_timeout_s)
        except TimeoutError:
            session.close_reason = "heartbeat_timeout"
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"idle")
            return
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
            return
        if msg.type == WSMsgType.ERROR:
            session.close_reason = "error"
            return
        if msg.type != WSMsgType.TEXT:
            session.error("text-only", "frames are JSON text messages")
            continue
        await _one_frame(session, msg.data, on_frame)


async def _one_frame(session: Session, data: str, on_frame: FrameHandler) -> None:
    try:
        frame = DEVICE_FRAMES.validate_json(data)
    except ValidationError as exc:
        kind = _frame_type(data)
        code = "unknown-frame" if kind is not None and _is_unknown_type(exc) else "invalid-frame"
        session.error(code, _reason(exc), kind)
        return
    FRAMES_IN.labels(frame.type).inc()
    if isinstance(frame, Auth):
        session.error("already-authenticated", "auth is only valid as the first frame", "auth")
        return
    try:
        await on_frame(session, frame)
    except FrameRefused as refused:
        session.error(refused.code, str(refused), frame.type)


class FrameRefused(Exception):
    """A well-formed frame the device may not send (e.g. about another device)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _frame_type(data: str) -> str | None:
    try:
        obj: Any = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None
    kind = obj.get("type") if isinstance(obj, dict) else None
    return kind if isinstance(kind, str) else None


def _is_unknown_type(exc: ValidationError) -> bool:
    return any(e["type"] == "union_tag_invalid" for e in exc.errors())
