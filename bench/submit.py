"""Submitting print jobs through the public API, as people and programs do, and
watching them finish (the caller's job event stream)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from bench.platform_harness import User
from shared.testing.ipp import minimal_pdf


class SubmitRefused(RuntimeError):
    """The API answered, without accepting the job; ``status`` is the HTTP status."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text[:300]}")
        self.status = status


RETRY_STATUSES = (502, 503)
"""Answers after which the submission is sent again (with its Idempotency-Key)."""


async def submit_job(
    http: aiohttp.ClientSession, user: User, printer_id: str, document: bytes, title: str,
    *, timeout: float = 30, attempts: int = 5, key: str | None = None,
) -> str:  # fmt: skip
    """One-shot ``POST /v1/jobs`` (multipart: the job, then the document); the job id.

    The submission carries an Idempotency-Key (``key``, or a fresh one): after no answer
    (connection lost, timeout) or a 502/503 it is sent again with the same key, up to
    ``attempts`` times, so a retry answers the job already created instead of submitting
    a second one. The last failure is raised (SubmitRefused, or the client's error)."""
    key = key or str(uuid.uuid4())
    for attempt in range(1, attempts + 1):
        try:
            return await _submit_once(http, user, printer_id, document, title, timeout, key)
        except SubmitRefused as exc:
            if exc.status not in RETRY_STATUSES or attempt == attempts:
                raise
        except (aiohttp.ClientError, OSError, TimeoutError):
            if attempt == attempts:
                raise
        await asyncio.sleep(min(0.2 * attempt, 2.0))
    raise AssertionError("unreachable")


NOT_YET_KNOWN = (404, 409)
"""Answers while the queues have not yet learned of a printer the registry just took
(404) or of its capabilities (409): they learn both from the registry's events."""


async def submit_warm_up(
    http: aiohttp.ClientSession, user: User, printer_id: str, *, timeout: float = 90,
) -> str:  # fmt: skip
    """A warm-up job to a printer registered a moment ago, sent again while the queues
    do not know it yet (up to ``timeout`` seconds); the job id."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await submit_job(http, user, printer_id, minimal_pdf("warm-up"), "warm-up")
        except SubmitRefused as exc:
            if exc.status not in NOT_YET_KNOWN or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


async def _submit_once(
    http: aiohttp.ClientSession, user: User, printer_id: str, document: bytes, title: str,
    timeout: float, key: str,
) -> str:  # fmt: skip
    form = aiohttp.FormData()
    form.add_field(
        "job", json.dumps({"printer_id": printer_id, "title": title}),
        content_type="application/json",
    )  # fmt: skip
    form.add_field("document", document, content_type="application/pdf", filename="doc.pdf")
    headers = {**await user.headers(http), "Idempotency-Key": key}
    async with http.post(
        user.base_url + "/v1/jobs", data=form, headers=headers,
        timeout=aiohttp.ClientTimeout(total=timeout),
    ) as resp:  # fmt: skip
        text = await resp.text()
        if resp.status != 201:
            raise SubmitRefused(resp.status, text)
        return str(json.loads(text)["id"])


@dataclass
class JobWatch:
    """The caller's job event stream (``GET /v1/jobs/events``): when each job reached
    each state, as seen by this client."""

    user: User
    states: dict[str, dict[str, float]] = field(default_factory=dict)
    waiters: dict[tuple[str, str], asyncio.Future[float]] = field(default_factory=dict)
    on_state: Callable[[str, str], None] | None = None
    _task: asyncio.Task[None] | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    missed: int = 0  # states the stream did not tell within a few seconds

    def start(self, http: aiohttp.ClientSession) -> None:
        self._task = asyncio.create_task(self._follow(http))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def reached(self, job_id: str, state: str) -> asyncio.Future[float]:
        """A future resolved with the time ``job_id`` reached ``state``."""
        fut = self.waiters.get((job_id, state))
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self.waiters[(job_id, state)] = fut
            at = self.states.get(job_id, {}).get(state)
            if at is not None:
                fut.set_result(at)
        return fut

    def _seen(self, job_id: str, state: str) -> None:
        now = time.perf_counter()
        self.states.setdefault(job_id, {}).setdefault(state, now)
        fut = self.waiters.get((job_id, state))
        if fut is not None and not fut.done():
            fut.set_result(now)
        if self.on_state is not None:
            self.on_state(job_id, state)

    async def _follow(self, http: aiohttp.ClientSession) -> None:
        last: str | None = None
        while True:
            try:
                headers = await self.user.headers(http)
                if last:
                    headers["Last-Event-ID"] = last
                async with http.get(
                    self.user.base_url + "/v1/jobs/events", headers=headers,
                    timeout=aiohttp.ClientTimeout(total=None, sock_read=60),
                ) as resp:  # fmt: skip
                    if resp.status != 200:
                        raise ConnectionError(f"job events: {resp.status}")
                    self.connected.set()
                    data: list[str] = []
                    async for raw in resp.content:
                        line = raw.decode().rstrip("\r\n")
                        if line.startswith("id:"):
                            last = line[3:].strip()
                        elif line.startswith("data:"):
                            data.append(line[5:].strip())
                        elif not line and data:
                            self._event(json.loads("\n".join(data)))
                            data = []
            except (aiohttp.ClientError, OSError, TimeoutError, ConnectionError, ValueError):
                await asyncio.sleep(0.5)

    def _event(self, event: dict[str, Any]) -> None:
        payload = event.get("data", event)
        job_id = payload.get("job_id") or payload.get("id")
        state = payload.get("state")
        if job_id and state:
            self._seen(str(job_id), str(state))


async def until_state(
    http: aiohttp.ClientSession, watch: JobWatch, job_id: str, state: str, timeout: float = 60,
    *, stream_s: float = 2.0,
) -> float:  # fmt: skip
    """When ``job_id`` reached ``state``: from the event stream, or, if the stream has not
    told within ``stream_s``, by reading the job every 100 ms (counted in ``watch.missed``)."""
    try:
        return await asyncio.wait_for(asyncio.shield(watch.reached(job_id, state)), stream_s)
    except TimeoutError:
        pass
    deadline = time.monotonic() + timeout - stream_s
    while time.monotonic() < deadline:
        fut = watch.reached(job_id, state)
        if fut.done():
            return fut.result()
        job = await read_job(http, watch.user, job_id)
        if job is not None and job["state"] == state:
            watch.missed += 1
            finished = job.get("finished_at") if state == "completed" else None
            if finished:  # the server's own time of it (same machine, same clock)
                at = datetime.fromisoformat(finished).timestamp()
                return time.perf_counter() - max(0.0, time.time() - at)
            return time.perf_counter()
        await asyncio.sleep(0.1)
    raise TimeoutError(f"job {job_id} not {state} within {timeout} s")


async def read_job(http: aiohttp.ClientSession, user: User, job_id: str) -> dict[str, Any] | None:
    """``GET /v1/jobs/{id}`` (None if it cannot be read now)."""
    try:
        headers = await user.headers(http)
        async with http.get(f"{user.base_url}/v1/jobs/{job_id}", headers=headers) as resp:
            if resp.status != 200:
                return None
            return dict(await resp.json())
    except (aiohttp.ClientError, OSError, TimeoutError, RuntimeError):
        return None
