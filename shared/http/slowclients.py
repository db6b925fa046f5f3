"""Slow clients are cut off in seconds: a bounded time for a request's head, and for
each pause while a request's body is read.

aiohttp waits for a request's head and body as long as the client cares to send them
(a client trickling its headers one byte a second holds a connection for ever), so
every Printcloud server (the edge and each service, through
:func:`shared.service.serve_app`) runs its connections with :class:`GuardedRequestHandler`:

* the head (request line and headers) must be complete within ``header_timeout_s`` of
  its first byte, or of the connection's opening for its first request;
* while a request's body is being received, the client may go quiet for at most
  ``body_idle_timeout_s`` (time spent with reading paused because the server is not
  consuming the body yet does not count);
* an idle kept-alive connection is closed after ``keepalive_timeout_s``.

A connection past a limit is dropped (the client already failed to send a request that
could be answered). Websockets, once upgraded, are not watched here: they have their own
heartbeats and idle limits; a response being streamed (server-sent events) is not a read.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.streams import EMPTY_PAYLOAD, StreamReader
from aiohttp.web_protocol import RequestHandler
from prometheus_client import Counter

from shared.logging import get_logger

log = get_logger(__name__)
CUT_OFF = Counter(
    "printcloud_http_slow_clients_cut_off_total",
    "Connections dropped because a request's head or body came too slowly.",
    ["phase"],
)


@dataclass(frozen=True)
class SlowClientLimits:
    """How long a client may take to send what it must."""

    header_timeout_s: float = 10.0
    body_idle_timeout_s: float = 30.0
    keepalive_timeout_s: float = 30.0


class GuardedRequestHandler(RequestHandler):
    """aiohttp's request handler with deadlines for a request's head and body."""

    def __init__(self, *args: Any, limits: SlowClientLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body: StreamReader | None = None
        self._body_deadline = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """The first request's head is due within the header timeout of the opening."""
        super().connection_made(transport)
        self._arm_head()

    def connection_lost(self, exc: BaseException | None) -> None:
        """Stop watching a connection that is gone."""
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed aiohttp's parser, then see which phase the connection is in."""
        if self._upgraded:
            super().data_received(data)
            return
        before = self._request_count
        receiving_body = self._body is not None and not self._body.is_eof()
        if receiving_body:
            self._body_deadline = self._loop.time() + self._limits.body_idle_timeout_s
        elif self._head_timer is None and data:
            self._arm_head()
        super().data_received(data)
        if self._request_count != before:
            self._head_received()

    def _head_received(self) -> None:
        """A head is complete: its body (if any) is now watched instead."""
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self._upgraded or not self._messages:
            self._cancel_timers()
            return
        _, payload = self._messages[-1]
        if payload is EMPTY_PAYLOAD or payload.is_eof():
            self._body = None
            return
        self._body = payload
        self._body_deadline = self._loop.time() + self._limits.body_idle_timeout_s
        if self._body_timer is None:
            self._body_timer = self._loop.call_at(self._body_deadline, self._check_body)

    def _arm_head(self) -> None:
        if self._head_timer is None and not self._upgraded:
            self._head_timer = self._loop.call_later(
                self._limits.header_timeout_s, self._head_too_slow
            )

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._upgraded or self.transport is None:
            return
        if self._waiter is None and self._task_handler is not None and not self._messages:
            return  # a request is being handled; its head came in time
        self._cut_off("head")

    def _check_body(self) -> None:
        self._body_timer = None
        body = self._body
        if body is None or body.is_eof() or self.transport is None or self._upgraded:
            return
        now = self._loop.time()
        if self._reading_paused or self._buffer_paused:
            # The server is not taking the body yet: the client is not the slow one.
            self._body_deadline = now + self._limits.body_idle_timeout_s
        if now < self._body_deadline:
            self._body_timer = self._loop.call_at(self._body_deadline, self._check_body)
            return
        self._cut_off("body")

    def _cut_off(self, phase: str) -> None:
        CUT_OFF.labels(phase).inc()
        peer = self.transport.get_extra_info("peername") if self.transport else None
        log.info("slow client cut off", phase=phase, peer=str(peer))
        self._cancel_timers()
        if self.transport is not None:
            self.transport.abort()

    def _cancel_timers(self) -> None:
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None


class GuardedServer(web.Server):
    """aiohttp's low-level server making :class:`GuardedRequestHandler` connections."""

    def __init__(self, *args: Any, limits: SlowClientLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limits = limits

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(self, loop=self._loop, limits=self._limits, **self._kwargs)


class GuardedAppRunner(web.AppRunner):
    """An :class:`aiohttp.web.AppRunner` whose connections have slow-client limits."""

    def __init__(self, app: web.Application, *, limits: SlowClientLimits, **kwargs: Any) -> None:
        super().__init__(app, keepalive_timeout=limits.keepalive_timeout_s, **kwargs)
        self._limits = limits

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return GuardedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=plain._loop,
            limits=self._limits,
            **plain._kwargs,
        )
