"""Job state changes as server-sent events, on any replica.

A state change inserts a ``job_history`` row and sends a Postgres NOTIFY in the
same transaction. Each process holds one LISTEN connection (:class:`JobFeed`)
and wakes the streams interested in the job or its owner; a woken stream reads
the history rows after the last one it sent, so a missed or merged
notification costs nothing. The row's position in commit order (``<tx>-<id>``)
is the SSE ``id``: a client that reconnects with ``Last-Event-ID`` resumes
exactly where it left off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
from aiohttp import web

from services.queues.repository import changes_channel
from shared.db.pool import connect
from shared.logging import get_logger

log = get_logger(__name__)


class _Subscription:
    def __init__(self, job_id: uuid.UUID | None, owner_id: uuid.UUID | None) -> None:
        self.job_id = str(job_id) if job_id else None
        self.owner_id = str(owner_id) if owner_id else None
        self.wake = asyncio.Event()

    def wants(self, note: dict[str, Any]) -> bool:
        if self.job_id is not None:
            return note.get("job_id") == self.job_id
        return self.owner_id is None or note.get("owner_id") == self.owner_id


class JobFeed:
    """One LISTEN connection per process, fanned out to the open streams."""

    def __init__(self) -> None:
        self._subs: set[_Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self.closing = asyncio.Event()

    @contextlib.contextmanager
    def subscribe(
        self,
        dsn: str,
        schema: str,
        *,
        job_id: uuid.UUID | None = None,
        owner_id: uuid.UUID | None = None,
    ) -> Iterator[_Subscription]:
        """Wake-ups for changes of one job, or of one owner's jobs."""
        if self._task is None:
            self._task = asyncio.create_task(self._listen(dsn, schema))
        sub = _Subscription(job_id, owner_id)
        self._subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            note = json.loads(payload)
        except ValueError:
            return
        for sub in self._subs:
            if sub.wants(note):
                sub.wake.set()

    def _wake_all(self) -> None:
        for sub in self._subs:
            sub.wake.set()

    async def _listen(self, dsn: str, schema: str) -> None:
        while not self.closing.is_set():
            conn: asyncpg.Connection | None = None
            try:
                conn = await connect(dsn, schema, application_name="queues-feed")
                await conn.add_listener(changes_channel(schema), self._on_notify)
                self._wake_all()  # catch up on what happened while not listening
                while not self.closing.is_set() and not conn.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.closing.wait(), 5)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("job feed listener failed; reconnecting", error=repr(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.closing.wait(), 1)
            finally:
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)

    async def close(self, _app: web.Application | None = None) -> None:
        """End every stream and the listener (on shutdown)."""
        self.closing.set()
        self._wake_all()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
