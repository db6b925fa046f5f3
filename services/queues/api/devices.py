"""The device side: a printer's queue, its documents (resumable) and its sessions."""

from __future__ import annotations

from aiohttp import web

from services.queues.api.context import CONTEXT, blobs, transactions
from services.queues.api.shapes import (
    DeviceDocument,
    DeviceJob,
    DeviceJobs,
    DeviceVirtualPrinter,
    DeviceVirtualPrinters,
    SessionOut,
    Sessions,
    dump,
)
from services.queues.handlers.devices import (
    queue_of,
    sessions_of,
    start_download,
    virtual_printers_of,
)
from shared.blobstore import BlobMissing, RangeNotSatisfiable, byte_range
from shared.http.body import path_uuid
from shared.http.middleware import principal
from shared.http.problem import from_domain_error


async def my_jobs(request: web.Request) -> web.Response:
    """GET /v1/devices/me/jobs: the queue of the printer(s) the device answers for."""
    who = principal(request)
    base = CONTEXT.settings(request).public_url.rstrip("/")
    items = []
    for item in await queue_of(transactions(request), who):
        queued = item.queued
        job = queued.job
        items.append(
            DeviceJob(
                job_id=job.id,
                printer_id=job.printer_id,
                state=job.state,
                title=job.title,
                pages=job.pages,
                owner_id=job.owner_id,
                owner_name=queued.owner_name or "",
                release=job.release,
                settings=job.settings,
                fetchable=item.fetchable,
                requires_login=item.requires_login,
                document=DeviceDocument(
                    url=f"{base}/v1/devices/me/jobs/{job.id}/document",
                    sha256=queued.sha256,
                    size=queued.size,
                    format=queued.format,
                ),
            )
        )
    return web.json_response(dump(DeviceJobs(items=items)))


async def my_sessions(request: web.Request) -> web.Response:
    """GET /v1/devices/me/sessions: users logged in at the device's printers now."""
    rows = await sessions_of(transactions(request), principal(request))
    sessions = Sessions(
        items=[
            SessionOut(
                session_id=r.id,
                printer_id=r.printer_id,
                user_id=r.user_id,
                display_name=r.display_name,
                opened_at=r.opened_at,
                expires_at=r.expires_at,
            )
            for r in rows
        ]
    )
    return web.json_response(dump(sessions))


async def my_virtual_printers(request: web.Request) -> web.Response:
    """GET /v1/devices/me/virtual-printers: the virtual printers the device's printers
    are members of (what an agent announces over DNS-SD beside its printers)."""
    found = await virtual_printers_of(transactions(request), principal(request))
    body = DeviceVirtualPrinters(
        items=[
            DeviceVirtualPrinter(
                virtual_printer_id=vp.id,
                name=vp.name,
                members=list(vp.members),
                effective_capabilities=caps,
            )
            for vp, caps in found
        ]
    )
    return web.json_response(dump(body))


async def document(request: web.Request) -> web.StreamResponse:
    """GET /v1/devices/me/jobs/{job_id}/document: the bytes, whole or a Range of them."""
    job_id = path_uuid(request, "job_id")
    doc = await start_download(transactions(request), principal(request), job_id)
    store = blobs(request)
    sha256, size = doc.sha256, doc.size
    if doc.deleted_at is not None or await store.size(sha256) != size:
        raise BlobMissing("the document's content is no longer stored")
    etag = f'"{sha256}"'
    if_range = request.headers.get("If-Range")
    try:
        selected = (
            byte_range(request.headers.get("Range"), size) if if_range in (None, etag) else None
        )
    except RangeNotSatisfiable as exc:
        answer = from_domain_error(exc, instance=request.path)
        answer.headers["Content-Range"] = f"bytes */{size}"
        return answer
    first, last = selected if selected else (0, size - 1)
    response = web.StreamResponse(status=206 if selected else 200)
    response.content_type = doc.format
    response.content_length = last - first + 1 if size else 0
    response.headers.update({"ETag": etag, "Accept-Ranges": "bytes", "X-Content-SHA256": sha256})
    if selected:
        response.headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    await response.prepare(request)
    if size:
        async for chunk in store.open_range(sha256, first, last):
            await response.write(chunk)
    await response.write_eof()
    return response
