"""The websocket to the gateway: authenticate, report, take commands, never give up.

One session: ``hello`` (a nonce) -> ``auth`` (the nonce signed with the device
key) -> ``welcome``; then capabilities and status, a heartbeat every
``heartbeat_interval_s``, commands in, journaled frames (job status, acks) out.
Any close or error ends the session and the agent reconnects after a backoff of
0.5 s doubling to 30 s with full jitter, reset once a session was stable.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import aiohttp
from aiohttp import WSCloseCode, WSMsgType
from pydantic import ValidationError

from services.agent.connector import Fleet
from services.agent.executor import Dispatcher
from services.agent.jobs import JobLoop
from services.agent.journal import Journal
from services.agent.state import Identity, StateDir
from shared.crypto.encoding import b64url_encode
from shared.crypto.signatures import sign
from shared.logging import get_logger
from shared.protocols.device import (
    GATEWAY_FRAMES,
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    Auth,
    Command,
    Error,
    Heartbeat,
    Hello,
    Notify,
    Welcome,
    _Frame,
    auth_message,
)

log = get_logger(__name__)
STABLE_AFTER_S = 10.0
HANDSHAKE_TIMEOUT_S = 15.0
F = TypeVar("F", bound=_Frame)


class SessionEnded(Exception):
    """The session cannot go on (refused, protocol violation, closed early)."""


@dataclass
class Backoff:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""

    base: float = 0.5
    cap: float = 30.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        """The wait before the next attempt (and count this attempt)."""
        ceiling = min(self.cap, self.base * 2 ** min(self.attempt, 32))
        self.attempt += 1
        return self.rng.uniform(0, ceiling)

    def reset(self) -> None:
        """Start over after a stable connection."""
        self.attempt = 0


@dataclass
class Link:
    """What a session needs from the rest of the agent."""

    url: str
    state: StateDir
    journal: Journal
    fleet: Fleet
    dispatcher: Dispatcher
    outbox: asyncio.Event
    kind: str
    agent: str
    probe_interval: float = 60.0
    shutdown_grace: float = 10.0
    on_identity: Callable[[Identity], Awaitable[None]] | None = None
    jobs: JobLoop | None = None


class Connection:
    """Keeps one websocket to the gateway open until ``stop`` is set."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self._send_lock = asyncio.Lock()
        self._flush_lock = asyncio.Lock()

    async def run(self, stop: asyncio.Event) -> None:
        """Connect, serve, reconnect with backoff; return once ``stop`` is set."""
        backoff = Backoff()
        async with aiohttp.ClientSession() as http:
            while not stop.is_set():
                stable = False
                try:
                    stable = await self._session(http, stop)
                except (aiohttp.ClientError, OSError, TimeoutError, SessionEnded) as exc:
                    log.warning("connection ended", error=str(exc) or type(exc).__name__)
                if stop.is_set():
                    break
                if stable:
                    backoff.reset()
                delay = backoff.next_delay()
                log.info("reconnecting", after_s=round(delay, 3), attempt=backoff.attempt)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)

    async def _session(self, http: aiohttp.ClientSession, stop: asyncio.Event) -> bool:
        """One websocket session; True when it was welcomed and lasted a while."""
        loop = asyncio.get_running_loop()
        async with http.ws_connect(
            self.link.url, heartbeat=30.0, max_msg_size=MAX_FRAME_BYTES, autoclose=True
        ) as ws:
            welcome = await self._handshake(ws)
            welcomed_at = loop.time()
            log.info(
                "connected", session_id=str(welcome.session_id), device_id=str(welcome.device_id)
            )
            if self.link.jobs is not None:
                self.link.jobs.poke()  # a hint may have been missed while away
            closer = asyncio.create_task(self._close_on_stop(ws, stop))
            helpers = [
                asyncio.create_task(self._heartbeat(ws, welcome.heartbeat_interval_s)),
                asyncio.create_task(self._drain_outbox(ws)),
                asyncio.create_task(self._report(ws)),
            ]
            try:
                fatal = await self._receive(ws, stop)
            finally:
                if not stop.is_set():
                    closer.cancel()
                for task in helpers:
                    task.cancel()
                # On SIGTERM the closer finishes the close handshake (code 1001).
                await asyncio.gather(closer, *helpers, return_exceptions=True)
            log.info("disconnected", close_code=ws.close_code)
            return not fatal and loop.time() - welcomed_at >= STABLE_AFTER_S

    async def _handshake(self, ws: aiohttp.ClientWebSocketResponse) -> Welcome:
        hello = await self._expect(ws, Hello)
        if hello.protocol != PROTOCOL_VERSION:
            raise SessionEnded(f"gateway speaks protocol {hello.protocol}")
        key = self.link.state.private_key()
        identity = self.link.state.identity()
        await self._send(
            ws,
            Auth(
                protocol=PROTOCOL_VERSION,
                fingerprint=self.link.state.fingerprint(),
                signature=b64url_encode(sign(key, auth_message(hello.nonce))),
                device_id=identity.device_id if identity else None,
                agent=self.link.agent,
            ),
        )
        welcome = await self._expect(ws, Welcome)
        await self._adopt(welcome, identity)
        return welcome

    async def _adopt(self, welcome: Welcome, known: Identity | None) -> None:
        identity = Identity(welcome.device_id, welcome.tenant_id, welcome.kind)
        if welcome.kind != self.link.kind:
            log.warning("the cloud knows this device as another kind", kind=welcome.kind)
        if identity != known:
            log.info("identity learned from the gateway", device_id=str(welcome.device_id))
            await asyncio.to_thread(self.link.state.save_identity, identity)
        if self.link.on_identity is not None:
            await self.link.on_identity(identity)

    async def _expect(self, ws: aiohttp.ClientWebSocketResponse, kind: type[F]) -> F:
        msg = await ws.receive(timeout=HANDSHAKE_TIMEOUT_S)
        if msg.type != WSMsgType.TEXT:
            raise SessionEnded(f"closed before {kind.__name__.lower()} ({ws.close_code})")
        try:
            frame = GATEWAY_FRAMES.validate_json(msg.data)
        except ValidationError as exc:
            raise SessionEnded(
                f"invalid frame from the gateway: {exc.error_count()} errors"
            ) from None
        if isinstance(frame, Error):
            log.error("the gateway refused the device", code=frame.code, message=frame.message)
            raise SessionEnded(f"refused: {frame.code}")
        if not isinstance(frame, kind):
            raise SessionEnded(f"expected {kind.__name__.lower()}, got {frame.type}")
        return frame

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse, stop: asyncio.Event) -> bool:
        """Serve incoming frames until the socket closes; True after a fatal error frame."""
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                log.warning("ignored a non-text frame", frame_type=str(msg.type))
                continue
            try:
                frame = GATEWAY_FRAMES.validate_json(msg.data)
            except ValidationError as exc:
                log.warning("ignored an invalid frame", errors=exc.error_count())
                continue
            if isinstance(frame, Command) and stop.is_set():
                log.info("stopping: command left for redelivery", command_id=str(frame.command_id))
            elif isinstance(frame, Command):
                log.info("command received", command_id=str(frame.command_id), command=frame.name)
                self.link.dispatcher.submit(frame)
            elif isinstance(frame, Notify):
                log.info(
                    "notified", kind=frame.kind, jobs=len(frame.job_ids),
                    target_device_id=str(frame.target_device_id or ""),
                )  # fmt: skip
                if self.link.jobs is not None:
                    self.link.jobs.notified(frame)
            elif isinstance(frame, Error):
                report = log.error if frame.fatal else log.warning
                report(
                    "error from the gateway", code=frame.code, message=frame.message,
                    fatal=frame.fatal, in_reply_to=frame.in_reply_to,
                )  # fmt: skip
                if frame.fatal:
                    await ws.close()
                    return True
            else:
                log.warning("ignored an unexpected frame", frame_type=frame.type)
        return False

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, frame: _Frame) -> None:
        async with self._send_lock:
            await ws.send_str(frame.model_dump_json())

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse, interval: float) -> None:
        seq = 0
        while True:
            await asyncio.sleep(interval)
            await self._send(ws, Heartbeat(seq=seq))
            seq += 1

    async def _flush(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        journal = self.link.journal
        async with self._flush_lock:
            while batch := journal.unsent():
                for seq, text in batch:
                    async with self._send_lock:
                        await ws.send_str(text)
                    journal.mark_sent(seq)

    async def _drain_outbox(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        # Frames left unsent by an earlier session (or process) go first.
        while True:
            self.link.outbox.clear()
            await self._flush(ws)
            await self.link.outbox.wait()

    async def _report(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        fleet, full = self.link.fleet, True
        while True:
            fleet.wake.clear()
            for frame in await fleet.reports(full=full):
                await self._send(ws, frame)
            full = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(fleet.wake.wait(), timeout=self.link.probe_interval)

    async def _close_on_stop(
        self, ws: aiohttp.ClientWebSocketResponse, stop: asyncio.Event
    ) -> None:
        await stop.wait()
        log.info("stopping: finishing running commands")
        await self.link.dispatcher.drain(self.link.shutdown_grace)
        with contextlib.suppress(aiohttp.ClientError, OSError):
            await self._flush(ws)
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"agent stopping")
