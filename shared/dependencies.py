"""The platform's dependencies (the database, the event broker) being unreachable.

:func:`unavailable_dependency` tells a failure caused by a dependency that cannot be
reached right now (connection refused or lost, server starting or shutting down, no
connection slot, a connect or acquire timeout) from a real bug: the former is a 503
worth retrying, the latter a 500. :func:`wait_until_available` is how a process
starts while a dependency is down: it retries with capped exponential backoff instead
of exiting.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

import asyncpg
from aiokafka import errors as kafka_errors

from shared.logging import get_logger

log = get_logger(__name__)

DATABASE = "the database"
EVENT_BROKER = "the event broker"

T = TypeVar("T")

_DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,  # class 08: connection lost, refused, failed
    asyncpg.exceptions.CannotConnectNowError,  # starting up, in recovery
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)
_CLOSED_MARKERS = ("connection is closed", "connection was closed", "pool is closing")
_BROKER_ERRORS: tuple[type[BaseException], ...] = (
    kafka_errors.KafkaConnectionError,
    kafka_errors.KafkaTimeoutError,
    kafka_errors.NoBrokersAvailable,
    kafka_errors.NodeNotReadyError,
    kafka_errors.RequestTimedOutError,
    kafka_errors.LeaderNotAvailableError,
    kafka_errors.NotEnoughReplicasError,
    kafka_errors.NotEnoughReplicasAfterAppendError,
)
# OSErrors that say something about a file, not about a peer on the network.
_LOCAL_OS_ERRORS: tuple[type[BaseException], ...] = (
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)
_LIBRARIES = (("asyncpg", DATABASE), ("aiokafka", EVENT_BROKER))


def _raised_in(tb: TracebackType | None) -> str | None:
    """The dependency whose client library the innermost library frame belongs to."""
    found = None
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        for prefix, dependency in _LIBRARIES:
            if module == prefix or module.startswith(prefix + "."):
                found = dependency
        tb = tb.tb_next
    return found


def _classify(exc: BaseException) -> str | None:
    if isinstance(exc, _DATABASE_ERRORS):
        return DATABASE
    if isinstance(exc, asyncpg.InterfaceError):
        message = str(exc)
        return DATABASE if any(m in message for m in _CLOSED_MARKERS) else None
    if isinstance(exc, _BROKER_ERRORS):
        return EVENT_BROKER
    if isinstance(exc, TimeoutError | OSError | asyncio.CancelledError) and not isinstance(
        exc, _LOCAL_OS_ERRORS
    ):
        # Generic network failures count only when raised inside a client library:
        # a refused connection to Postgres, not a file missing on disk.
        return _raised_in(exc.__traceback__)
    return None


def unavailable_dependency(exc: BaseException) -> str | None:
    """``DATABASE`` or ``EVENT_BROKER`` when ``exc`` (or what explicitly caused it) means
    that dependency cannot be reached right now; None for anything else (a bug)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, asyncio.CancelledError) and current is exc:
            return None  # a cancelled request is not an outage
        dependency = _classify(current)
        if dependency is not None:
            return dependency
        current = current.__cause__
    return None


class StoppedWhileWaiting(Exception):
    """The process was asked to stop before the dependency came back."""


@dataclass
class Waiting:
    """What a starting process is waiting for (read by its readiness answer)."""

    dependency: str | None = None
    reason: str = ""
    attempts: int = 0


async def wait_until_available(
    dependency: str,
    attempt: Callable[[], Awaitable[T]],
    *,
    waiting: Waiting | None = None,
    stop: asyncio.Event | None = None,
    first_delay_s: float = 0.5,
    max_delay_s: float = 5.0,
) -> T:
    """``await attempt()`` until it does not fail for ``dependency`` being unreachable,
    sleeping 0.5 s, 1 s, 2 s ... at most ``max_delay_s`` between tries; each failure
    logs one warning line. Other errors propagate at once (wrong password, missing
    database: configuration, not an outage). Bounded only by cancellation, or by
    ``stop`` being set (then :class:`StoppedWhileWaiting`)."""
    delay = first_delay_s
    attempts = 0
    while True:
        attempts += 1
        if waiting is not None:
            waiting.dependency = dependency
            waiting.attempts = attempts
        try:
            result = await attempt()
        except Exception as exc:
            if unavailable_dependency(exc) is None:
                raise
            reason = type(exc).__name__
            if waiting is not None:
                waiting.reason = reason
            log.warning(
                "dependency unreachable at start-up; retrying",
                dependency=dependency,
                attempt=attempts,
                error=reason,
                retry_in_s=delay,
            )
            if stop is None:
                await asyncio.sleep(delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    raise StoppedWhileWaiting(dependency) from exc
            delay = min(delay * 2, max_delay_s)
            continue
        if waiting is not None:
            waiting.dependency = None
            waiting.reason = ""
        if attempts > 1:
            log.info("dependency reachable", dependency=dependency, attempts=attempts)
        return result
