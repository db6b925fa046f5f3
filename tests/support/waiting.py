"""Waiting in tests for what other tasks or processes bring about."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable

Check = Callable[[], bool | Awaitable[bool]]


async def eventually(
    check: Check, timeout: float = 30, what: str = "the condition", *, interval: float | None = None
) -> None:
    """Poll ``check`` (a plain or an async function) until it is true; fail naming ``what``
    after ``timeout`` seconds. Polls every ``interval`` seconds, or, without one, quickly
    at first and then every 0.1 s."""
    delay = interval if interval is not None else 0.02
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            while True:
                result = check()
                if inspect.isawaitable(result):
                    result = await result
                if result:
                    return
                await asyncio.sleep(delay)
                if interval is None:
                    delay = min(delay * 2, 0.1)
    except TimeoutError:
        if not deadline.expired():
            raise  # the check's own timeout, not ours
        raise AssertionError(f"{what} did not happen within {timeout:g} s") from None


@contextlib.asynccontextmanager
async def running(*tasks: Callable[[asyncio.Event], Awaitable[None]]) -> AsyncIterator[None]:
    """Run task factories (relay.run, consumer.run) until the block ends, then stop them."""
    stop = asyncio.Event()
    running_tasks = [asyncio.create_task(t(stop)) for t in tasks]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*running_tasks)
