"""Scans to a phone: a person asks a printer for a page with their phone's ephemeral
public key; the printer uploads the page encrypted to it, kept as the person's
(protected) document, which only the phone can open."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass

from services.queues.domain.commands import RequestScan, StoreDocument
from services.queues.domain.model import Scan
from services.queues.handlers.common import now
from services.queues.handlers.devices import printers_of
from services.queues.handlers.documents import (
    Limits,
    drop_unreferenced,
    put_upload,
    register_document,
)
from services.queues.repository import QueuesRepository
from shared.blobstore import BlobStore
from shared.crypto.e2e import E2E_FORMAT
from shared.db.uow import Transactions
from shared.errors import Conflict, DomainError, FieldError, NotFound
from shared.http.auth import Principal


@dataclass
class ScanNotFound(NotFound):
    """No such scan for this caller (or of another tenant)."""

    code: str = "scan-not-found"


@dataclass
class ScanDelivered(Conflict):
    """The scan's page arrived already."""

    code: str = "scan-delivered"


def _missing() -> ScanNotFound:
    return ScanNotFound("no such scan", [FieldError("scan_id", "unknown scan")])


async def request_scan(
    tx: Transactions[QueuesRepository], who: Principal, cmd: RequestScan
) -> Scan:
    """A scan at one of the tenant's printers, to be encrypted to ``cmd``'s key."""
    assert who.tenant_id is not None
    async with tx() as uow:
        printer = await uow.repo.get_printer(cmd.printer_id)
        if printer is None or printer.tenant_id != who.tenant_id:
            raise NotFound("no such printer", [FieldError("printer_id", "unknown printer")])
        scan = Scan(
            id=uuid.uuid4(), tenant_id=who.tenant_id, owner_id=uuid.UUID(who.subject),
            printer_id=cmd.printer_id, key_id=cmd.key_id, public_key=cmd.public_key,
            state="requested", document_id=None, created_at=now(),
        )  # fmt: skip
        await uow.repo.insert_scan(scan)
    return scan


async def own_scan(tx: Transactions[QueuesRepository], who: Principal, scan_id: uuid.UUID) -> Scan:
    """The caller's scan (ScanNotFound for anyone else's)."""
    async with tx() as uow:
        scan = await uow.repo.get_scan(scan_id)
    if scan is None or scan.owner_id != _subject(who) or scan.tenant_id != who.tenant_id:
        raise _missing()
    return scan


def _subject(who: Principal) -> uuid.UUID | None:
    try:
        return uuid.UUID(who.subject)
    except ValueError:
        return None


async def scans_for(tx: Transactions[QueuesRepository], who: Principal) -> list[Scan]:
    """The scans waiting at the calling device's printers."""
    async with tx() as uow:
        return await uow.repo.requested_scans(await printers_of(uow, who))


async def deliver_scan(
    tx: Transactions[QueuesRepository],
    store: BlobStore,
    chunks: AsyncIterable[bytes],
    who: Principal,
    scan_id: uuid.UUID,
    pages: int | None,
    limits: Limits,
) -> Scan:
    """The device's encrypted page: checked by structure, stored as the scan owner's
    document, the scan delivered (ScanDelivered when it was already)."""
    async with tx() as uow:
        scan = await uow.repo.get_scan(scan_id)
        if scan is None or scan.printer_id not in await printers_of(uow, who):
            raise _missing()
    if scan.state == "delivered":
        raise ScanDelivered("the scan was delivered already")
    owner = Principal(str(scan.owner_id), scan.tenant_id)
    meta = StoreDocument(format=E2E_FORMAT, title="scan", pages=pages)
    upload = await put_upload(store, chunks, meta, limits.document_bytes)
    try:
        async with tx() as uow:
            current = await uow.repo.get_scan(scan_id, for_update=True)
            if current is None or current.state == "delivered":
                raise ScanDelivered("the scan was delivered already")
            document_id = uuid.uuid4()
            await register_document(uow, store, upload, meta, owner, document_id, limits)
            at = now()
            await uow.repo.deliver_scan(scan_id, document_id, at)
    except DomainError:
        await drop_unreferenced(tx, store, {upload.ref.sha256})
        raise
    return Scan(**{**scan.__dict__, "state": "delivered", "document_id": document_id,
                   "delivered_at": at})  # fmt: skip
