"""GET /v1/jobs/{job_id}/events and /v1/jobs/events: state changes as server-sent events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

from aiohttp import web

from services.queues.api.context import CONTEXT, reader, transactions
from services.queues.api.feed import JobFeed
from services.queues.domain.model import FINAL, HistoryEntry
from services.queues.handlers.jobs import visible_job
from services.queues.repository import HistoryCursor, QueuesRepository
from shared.errors import FieldError, ValidationFailed
from shared.http.auth import Principal
from shared.http.body import path_uuid
from shared.http.revocations import revocations
from shared.http.streams import StreamSlots, credential_key

FEED = web.AppKey("job_feed", JobFeed)
SLOTS = web.AppKey("job_stream_slots", StreamSlots)
"""Open job event streams per credential (``max_streams_per_credential`` each)."""


PENDING_POLL_S = 0.2
"""How often a stream looks again while changes it has seen committed wait for an older
transaction to end (that end may come with no notification for this stream)."""

_TX_MAX = 2**64 - 1
_ID_MAX = 2**63 - 1


def _last_event_id(request: web.Request) -> HistoryCursor | None:
    """The cursor of ``Last-Event-ID`` (or ``?last_event_id=``): ``<tx>-<id>`` as sent in
    the events' ``id``; a plain number (an id sent before ids carried the transaction)
    resumes after that history row and everything recorded before ids carried it."""
    value = request.headers.get("Last-Event-ID", request.query.get("last_event_id"))
    if value is None:
        return None
    tx, sep, row = value.partition("-")
    if not sep:
        tx, row = "0", value
    if not (tx.isascii() and tx.isdigit() and row.isascii() and row.isdigit()):
        raise ValidationFailed(
            "bad Last-Event-ID", [FieldError("Last-Event-ID", "an event id (<tx>-<id>)")]
        )
    cursor = int(tx), int(row)
    if cursor[0] > _TX_MAX or cursor[1] > _ID_MAX:
        raise ValidationFailed("bad Last-Event-ID", [FieldError("Last-Event-ID", "out of range")])
    return cursor


def _frame(row: HistoryEntry) -> bytes:
    data = {
        "job_id": str(row.job_id),
        "state": row.state,
        "printer_id": str(row.printer_id) if row.printer_id else None,
        "detail": row.detail,
        "at": row.at.isoformat(),
    }
    event_id = f"{row.tx}-{row.id}"
    return f"id: {event_id}\nevent: job.state\ndata: {json.dumps(data)}\n\n".encode()


async def _stream(
    request: web.Request,
    who: Principal,
    *,
    after: HistoryCursor,
    job_id: uuid.UUID | None,
    owner_id: uuid.UUID | None,
    tenant_id: uuid.UUID | None,
    finished: bool = False,
) -> web.StreamResponse:
    limit = CONTEXT.settings(request).max_streams_per_credential
    with request.app[SLOTS].hold(credential_key(who), limit, "this credential"):
        return await _stream_held(
            request, who, after=after, job_id=job_id, owner_id=owner_id,
            tenant_id=tenant_id, finished=finished,
        )  # fmt: skip


async def _stream_held(
    request: web.Request,
    who: Principal,
    *,
    after: HistoryCursor,
    job_id: uuid.UUID | None,
    owner_id: uuid.UUID | None,
    tenant_id: uuid.UUID | None,
    finished: bool,
) -> web.StreamResponse:
    rt = CONTEXT.runtime(request)
    feed = request.app[FEED]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    dsn = rt.settings.database_url.get_secret_value()
    cache = revocations(request)
    # The stream lives only as long as the token it was opened with: revoking the API
    # token the caller's access token came from ends it within moments.
    revoked = asyncio.ensure_future(
        cache.until_revoked(who) if cache is not None else asyncio.Event().wait()
    )
    try:
        with feed.subscribe(dsn, rt.schema, job_id=job_id, owner_id=owner_id) as sub:
            await _pump(request, response, sub, revoked, after=after, job_id=job_id,
                        owner_id=owner_id, tenant_id=tenant_id, finished=finished)  # fmt: skip
    finally:
        revoked.cancel()
    with contextlib.suppress(ConnectionError):
        await response.write_eof()
    return response


async def _pump(
    request: web.Request,
    response: web.StreamResponse,
    sub: Any,
    revoked: asyncio.Future[None],
    *,
    after: HistoryCursor,
    job_id: uuid.UUID | None,
    owner_id: uuid.UUID | None,
    tenant_id: uuid.UUID | None,
    finished: bool,
) -> None:
    """Write the changes as they commit until the job ends, the service stops or the
    caller's token is revoked."""
    rt = CONTEXT.runtime(request)
    feed = request.app[FEED]
    heartbeat = CONTEXT.settings(request).sse_heartbeat_s
    loop = asyncio.get_running_loop()
    await response.prepare(request)
    await response.write(b"retry: 2000\n\n")
    written = loop.time()
    while not feed.closing.is_set():
        if revoked.done():
            await response.write(b"event: revoked\ndata: {}\n\n")
            return
        sub.wake.clear()
        async with rt.pool.acquire() as conn:
            rows, pending = await QueuesRepository(conn).history_after(
                after=after, job_id=job_id, tenant_id=tenant_id, owner_id=owner_id
            )
        for row in rows:
            await response.write(_frame(row))
            written = loop.time()
            after = (row.tx, row.id)
            if job_id is not None and row.state in FINAL:
                return
        if rows:
            continue
        if finished and not pending:
            return  # a final job's stream had nothing more to tell
        idle = heartbeat - (loop.time() - written)
        if idle <= 0:
            await response.write(b": keep-alive\n\n")
            written, idle = loop.time(), heartbeat
        wait = min(idle, PENDING_POLL_S) if pending else idle
        woken = asyncio.ensure_future(sub.wake.wait())
        try:
            await asyncio.wait({woken, revoked}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()


async def job_events(request: web.Request) -> web.StreamResponse:
    """One job's state changes, from its first (or after Last-Event-ID); ends when the
    job reaches a final state."""
    who = reader(request)
    job_id = path_uuid(request, "job_id")
    job = await visible_job(transactions(request), job_id, who)
    after = _last_event_id(request) or (0, 0)
    return await _stream(
        request, who, after=after, job_id=job_id, owner_id=None, tenant_id=None,
        finished=job.is_final,
    )  # fmt: skip


async def my_events(request: web.Request) -> web.StreamResponse:
    """The caller's jobs' state changes from now on (or after Last-Event-ID)."""
    who = reader(request)
    if who.tenant_id is None:
        raise ValidationFailed("a tenant's user streams their own jobs", [])
    after = _last_event_id(request)
    if after is None:
        async with CONTEXT.pool(request).acquire() as conn:
            after = await QueuesRepository(conn).history_horizon()
    return await _stream(
        request,
        who,
        after=after,
        job_id=None,
        owner_id=uuid.UUID(who.subject),
        tenant_id=who.tenant_id,
    )
