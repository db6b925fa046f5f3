"""One websocket session per connected device, and the registry of live sessions.

Each session has a bounded outbound queue drained by its own writer task, so a
slow device never blocks the others: when its queue is full it is disconnected
(what it missed is delivered again when it reconnects, by the command ledger).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field

from aiohttp import WSCloseCode, web
from prometheus_client import Counter, Gauge

from services.gateway.credentials import Credential
from shared.logging import get_logger
from shared.protocols.device import Command, Error, _Frame

log = get_logger(__name__)
CONNECTIONS = Gauge("printcloud_gateway_connections", "Authenticated device websockets.")
FRAMES_IN = Counter("printcloud_gateway_frames_in_total", "Frames from devices.", ["type"])
COMMANDS_SENT = Counter("printcloud_gateway_commands_sent_total", "Commands sent to devices.")
NOTIFICATIONS_SENT = Counter(
    "printcloud_gateway_notifications_sent_total", "Notify frames sent to devices.", ["kind"]
)
REFUSED = Counter("printcloud_gateway_refused_total", "Refused frames/logins.", ["code"])


@dataclass(eq=False)
class Session:
    """An authenticated device connection."""

    ws: web.WebSocketResponse
    credential: Credential
    session_id: uuid.UUID = field(default_factory=uuid.uuid4)
    queue: asyncio.Queue[_Frame | None] = field(default_factory=lambda: asyncio.Queue(256))
    sent_commands: set[uuid.UUID] = field(default_factory=set)
    close_reason: str = "closed"
    transport: asyncio.Transport | None = field(default=None, repr=False)

    @property
    def device_id(self) -> uuid.UUID:
        """The device this session authenticated as."""
        return self.credential.device_id

    def send(self, frame: _Frame) -> bool:
        """Queue a frame; False (and the session is being dropped) if the device is too slow."""
        try:
            self.queue.put_nowait(frame)
            return True
        except asyncio.QueueFull:
            log.warning("device too slow; disconnecting", device_id=str(self.device_id))
            self.close_reason = "error"
            # A polite close frame would wait behind the frames it is not reading:
            # drop the connection; what it missed is delivered when it reconnects.
            if self.transport is not None:
                self.transport.abort()
            return False

    def deliver(self, command: Command) -> None:
        """Send a command once per session (the ledger and the live feed may both offer it)."""
        if command.command_id in self.sent_commands:
            return
        if self.send(command):
            self.sent_commands.add(command.command_id)
            COMMANDS_SENT.inc()

    def error(self, code: str, message: str, in_reply_to: str | None = None) -> None:
        """Refuse a frame but keep the connection."""
        REFUSED.labels(code).inc()
        self.send(Error(code=code, message=message, in_reply_to=in_reply_to))

    async def writer(self) -> None:
        """Drain the queue to the socket until ``None`` or the socket closes."""
        while (frame := await self.queue.get()) is not None:
            if self.ws.closed:
                return
            try:
                await self.ws.send_str(frame.model_dump_json())
            except (ConnectionError, RuntimeError):
                return


class Sessions:
    """device_id -> its live session on this replica."""

    def __init__(self) -> None:
        self._by_device: dict[uuid.UUID, Session] = {}

    def add(self, session: Session) -> Session | None:
        """Register a session; returns the one it replaces (the device reconnected)."""
        old = self._by_device.get(session.device_id)
        self._by_device[session.device_id] = session
        CONNECTIONS.set(len(self._by_device))
        return old

    def remove(self, session: Session) -> bool:
        """Forget a session if it is still the device's current one."""
        if self._by_device.get(session.device_id) is not session:
            return False
        del self._by_device[session.device_id]
        CONNECTIONS.set(len(self._by_device))
        return True

    def get(self, device_id: uuid.UUID) -> Session | None:
        """The device's session on this replica, if it is connected here."""
        return self._by_device.get(device_id)

    def __len__(self) -> int:
        return len(self._by_device)

    async def close_all(self, code: int = WSCloseCode.GOING_AWAY) -> None:
        """Close every socket ("going away": devices reconnect to another replica)."""
        for session in list(self._by_device.values()):
            session.close_reason = "shutdown"
            with contextlib.suppress(Exception):
                await session.ws.close(code=code, message=b"gateway shutting down")
