"""Scans to a phone: the person's side and the printer's side."""

from __future__ import annotations

from aiohttp import web

from services.queues.api.context import CONTEXT, blobs, transactions, user
from services.queues.api.shapes import DeviceScans, ScanOut, dump
from services.queues.domain.commands import RequestScan
from services.queues.domain.model import Scan
from services.queues.handlers import scans
from services.queues.handlers.documents import Limits
from shared.blobstore import BlobMissing
from shared.crypto.e2e import E2E_FORMAT
from shared.errors import FieldError, ValidationFailed
from shared.http.body import parse_json, path_uuid
from shared.http.middleware import principal
from shared.http.uploads import check_encoding, decoded_chunks

CHUNK = 256 << 10


def _out(scan: Scan) -> ScanOut:
    return ScanOut(
        scan_id=scan.id, printer_id=scan.printer_id, key_id=scan.key_id,
        public_key=scan.public_key, state=scan.state, document_id=scan.document_id,
        created_at=scan.created_at, delivered_at=scan.delivered_at,
    )  # fmt: skip


async def create(request: web.Request) -> web.Response:
    """POST /v1/scans: ask a printer for a page encrypted to the phone's key."""
    who = user(request, "jobs:submit")
    cmd = await parse_json(request, RequestScan)
    scan = await scans.request_scan(transactions(request), who, cmd)
    return web.json_response(
        dump(_out(scan)), status=201, headers={"Location": f"/v1/scans/{scan.id}"}
    )


async def get(request: web.Request) -> web.Response:
    """GET /v1/scans/{scan_id}: the caller's scan."""
    who = user(request, "jobs:read")
    scan = await scans.own_scan(transactions(request), who, path_uuid(request, "scan_id"))
    return web.json_response(dump(_out(scan)))


async def document(request: web.Request) -> web.StreamResponse:
    """GET /v1/scans/{scan_id}/document: the encrypted page (only the phone opens it)."""
    who = user(request, "jobs:read")
    tx = transactions(request)
    scan = await scans.own_scan(tx, who, path_uuid(request, "scan_id"))
    async with tx() as uow:
        doc = None if scan.document_id is None else await uow.repo.get_document(scan.document_id)
    store = blobs(request)
    if doc is None or await store.size(doc.sha256) != doc.size:
        raise BlobMissing("the scan has no page stored (not delivered yet, or deleted)")
    response = web.StreamResponse()
    response.content_type = E2E_FORMAT
    response.content_length = doc.size
    await response.prepare(request)
    async for chunk in store.open_range(doc.sha256, 0, doc.size - 1):
        await response.write(chunk)
    await response.write_eof()
    return response


async def waiting(request: web.Request) -> web.Response:
    """GET /v1/devices/me/scans: the scans waiting at the device's printers."""
    found = await scans.scans_for(transactions(request), principal(request))
    return web.json_response(dump(DeviceScans(items=[_out(s) for s in found])))


async def deliver(request: web.Request) -> web.Response:
    """PUT /v1/devices/me/scans/{scan_id}/document: the page, encrypted to the phone."""
    who = principal(request)
    check_encoding(request.headers)
    if request.content_type != E2E_FORMAT:
        reason = f"a scan's page is sent as {E2E_FORMAT}"
        raise ValidationFailed(reason, [FieldError("Content-Type", reason)])
    try:
        pages = int(request.query.get("pages", ""))
    except ValueError:
        reason = "the page count (a protected page cannot be counted by the cloud)"
        raise ValidationFailed(reason, [FieldError("pages", reason)]) from None
    settings = CONTEXT.settings(request)
    scan = await scans.deliver_scan(
        transactions(request), blobs(request), decoded_chunks(request, CHUNK), who,
        path_uuid(request, "scan_id"), pages,
        Limits(settings.max_document_bytes, settings.tenant_storage_bytes),
    )  # fmt: skip
    return web.json_response(dump(_out(scan)))
