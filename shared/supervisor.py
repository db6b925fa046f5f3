"""Runs a process's background tasks, restarting any that fail, until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from shared import metrics
from shared.logging import get_logger

log = get_logger(__name__)

TaskFactory = Callable[[asyncio.Event], Awaitable[None]]


class Supervisor:
    """Each task is ``factory(stop)``; a crash restarts it with exponential backoff."""

    def __init__(
        self, stop: asyncio.Event, *, max_backoff_s: float = 30.0, healthy_after_s: float = 10.0
    ) -> None:
        self._stop = stop
        self._max_backoff_s = max_backoff_s
        self._healthy_after_s = healthy_after_s
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.failing: set[str] = set()

    def start(self, name: str, factory: TaskFactory) -> None:
        """Run ``factory`` under supervision as ``name``."""
        self._tasks[name] = asyncio.create_task(self._supervise(name, factory), name=name)

    async def _supervise(self, name: str, factory: TaskFactory) -> None:
        delay = 0.5
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            # A restarted task that stays up this long counts as recovered.
            recovered = loop.call_later(self._healthy_after_s, self.failing.discard, name)
            started = loop.time()
            try:
                await factory(self._stop)
                if not self._stop.is_set():
                    log.warning("task returned before stop; restarting", task=name)
            except asyncio.CancelledError:
                raise
            except Exception:
                recovered.cancel()
                if loop.time() - started > self._healthy_after_s:
                    delay = 0.5
                self.failing.add(name)
                metrics.TASK_RESTARTS.labels(name).inc()
                log.exception("task crashed; restarting", task=name, backoff_s=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            delay = min(delay * 2, self._max_backoff_s)

    async def join(self, timeout: float) -> None:
        """After stop: wait for tasks to finish their work, cancel what overruns."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(self._tasks.values(), timeout=timeout)
        for task in late:
            log.warning("task did not stop in time; cancelling", task=task.get_name())
            task.cancel()
        if late:
            await asyncio.wait(late, timeout=5)
