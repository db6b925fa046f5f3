"""Storing uploaded documents and deleting them when retention says so."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from services.queues.domain.commands import StoreDocument, SubmitJob
from services.queues.domain.events import DocumentDeleted
from services.queues.domain.model import Document
from services.queues.handlers.common import Work
from services.queues.handlers.idempotency import IdempotencyKey, claim
from services.queues.handlers.jobs import Submitted, create_job, replayed_job
from services.queues.repository import QueuesRepository
from shared.blobstore import BlobRef, BlobStore, BlobTooLarge
from shared.db.uow import Transactions
from shared.errors import DomainError, FieldError, ValidationFailed
from shared.http.auth import Principal
from shared.printing.documents import Inspected, inspect


class StoreUnavailable(DomainError):
    """The blob vanished between upload and registration (a concurrent deletion)."""

    def __init__(self) -> None:
        super().__init__(
            "the document store changed during the upload; send it again",
            code="store-busy",
            status=503,
            title="Unavailable",
        )


@dataclass
class StorageQuotaExceeded(DomainError):
    """The tenant's documents would hold more bytes than its storage quota allows."""

    code: str = "storage-quota-exceeded"
    status: int = 413
    title: str = "Storage quota exceeded"


@dataclass(frozen=True)
class Limits:
    """How large one document may be, and how many bytes of documents a tenant may hold."""

    document_bytes: int
    tenant_bytes: int


def _over_quota(used: int, limits: Limits) -> StorageQuotaExceeded:
    return StorageQuotaExceeded(
        f"the tenant's documents hold {used} of their {limits.tenant_bytes} bytes; "
        "delete documents or wait for finished jobs' documents to go",
        [FieldError("document", "larger than the tenant's storage left")],
        extensions={"storage_used_bytes": used, "storage_quota_bytes": limits.tenant_bytes},
    )


async def _room(tx: Transactions[QueuesRepository], who: Principal, limits: Limits) -> int:
    """The largest upload the tenant has room for (StorageQuotaExceeded when none)."""
    assert who.tenant_id is not None
    async with tx() as uow:
        used = await uow.repo.tenant_storage(who.tenant_id)
    if used >= limits.tenant_bytes:
        raise _over_quota(used, limits)
    return min(limits.document_bytes, limits.tenant_bytes - used)


async def _put_within(
    tx: Transactions[QueuesRepository],
    store: BlobStore,
    chunks: AsyncIterable[bytes],
    cmd: StoreDocument,
    who: Principal,
    limits: Limits,
    pages: int | None = None,
) -> Upload:
    """put_upload bounded by the document limit and the tenant's storage left."""
    room = await _room(tx, who, limits)
    try:
        return await put_upload(store, chunks, cmd, room, pages)
    except BlobTooLarge:
        if room >= limits.document_bytes:
            raise
        async with tx() as uow:
            assert who.tenant_id is not None
            raise _over_quota(await uow.repo.tenant_storage(who.tenant_id), limits) from None


@dataclass(frozen=True)
class Stored:
    """The document an upload registered, or (``replayed``) the one its key's first
    request registered."""

    document: Document
    replayed: bool = False


@dataclass(frozen=True)
class Upload:
    """The bytes stored in the blob store, before the document is registered."""

    ref: BlobRef
    format: str
    pages: int


class _Inspection:
    """The content check the blob store runs on the complete bytes before keeping them:
    the format from the content, the pages counted; a declared count must agree."""

    def __init__(self, declared_format: str, declared_pages: int | None) -> None:
        self._format = declared_format
        self._pages = declared_pages
        self.found: Inspected | None = None

    def __call__(self, handle: BinaryIO) -> None:
        found = inspect(handle, self._format, self._pages)
        if self._pages is not None and self._pages != found.pages:
            reason = f"the document has {found.pages} pages, not {self._pages}"
            raise ValidationFailed(reason, [FieldError("pages", reason)])
        self.found = found


async def put_upload(
    store: BlobStore,
    chunks: AsyncIterable[bytes],
    cmd: StoreDocument,
    max_bytes: int,
    pages: int | None = None,
) -> Upload:
    """Stream the bytes into the blob store (hashed, size-limited, digest-checked), kept
    only when their content is the format they claim; the pages are the server's count
    (a count the client declares must agree with it)."""
    check = _Inspection(cmd.format, pages if pages is not None else cmd.pages)
    ref = await store.put_stream(chunks, max_bytes, cmd.sha256, check)
    assert check.found is not None, "the store runs the check before keeping the bytes"
    return Upload(ref, check.found.format, check.found.pages)


async def register_document(
    uow: Work,
    store: BlobStore,
    upload: Upload,
    cmd: StoreDocument,
    who: Principal,
    document_id: uuid.UUID,
    limits: Limits,
) -> Document:
    """In the caller's unit of work: the document for a stored blob, within the tenant's
    storage quota (checked under the tenant's lock: concurrent uploads cannot both fit)."""
    assert who.tenant_id is not None
    await uow.repo.lock_tenant_storage(who.tenant_id)
    used = await uow.repo.tenant_storage(who.tenant_id)
    if used + upload.ref.size > limits.tenant_bytes:
        raise _over_quota(used, limits)
    await uow.repo.lock_blob(upload.ref.sha256)
    if not await store.exists(upload.ref.sha256):
        raise StoreUnavailable()
    return await uow.repo.insert_document(
        id=document_id,
        tenant_id=who.tenant_id,
        owner_id=uuid.UUID(who.subject),
        sha256=upload.ref.sha256,
        size=upload.ref.size,
        format=upload.format,
        pages=upload.pages,
        title=cmd.title,
        keep=cmd.keep,
        priority=cmd.priority,
    )


async def store_document(
    tx: Transactions[QueuesRepository],
    store: BlobStore,
    chunks: AsyncIterable[bytes],
    cmd: StoreDocument,
    who: Principal,
    limits: Limits,
    key: IdempotencyKey | None = None,
) -> Stored:
    """Stream the bytes into the blob store (checked, within the limits), then register
    the document (and the idempotency key, in the same transaction)."""
    upload = await _put_within(tx, store, chunks, cmd, who, limits)
    document_id = uuid.uuid4()
    try:
        async with tx() as uow:
            first = await claim(
                uow, key, who, "document", document_id, document_sha256=upload.ref.sha256
            )
            if first is not None:
                row = await uow.repo.any_document(first)
                assert row is not None, "document rows are never deleted"
                return Stored(row, replayed=True)
            document = await register_document(uow, store, upload, cmd, who, document_id, limits)
            return Stored(document)
    except DomainError:
        await drop_unreferenced(tx, store, {upload.ref.sha256})
        raise


async def submit_upload(
    tx: Transactions[QueuesRepository],
    store: BlobStore,
    chunks: AsyncIterable[bytes],
    meta: StoreDocument,
    cmd: SubmitJob,
    who: Principal,
    limits: Limits,
    key: IdempotencyKey | None = None,
) -> Submitted:
    """A one-shot submission: the document streamed into the blob store, then the
    document, the job (job.submitted) and the idempotency key in one transaction."""
    upload = await _put_within(tx, store, chunks, meta, who, limits, cmd.pages)
    job_id = uuid.uuid4()
    try:
        async with tx() as uow:
            first = await claim(uow, key, who, "job", job_id, document_sha256=upload.ref.sha256)
            if first is not None:
                return await replayed_job(uow, first)
            document = await register_document(uow, store, upload, meta, who, uuid.uuid4(), limits)
            return Submitted(await create_job(uow, cmd, job_id, document, who))
    except DomainError:
        # Refused once stored (the content's real format does not suit the printer, the
        # quota filled meanwhile): the bytes go unless another document holds them.
        await drop_unreferenced(tx, store, {upload.ref.sha256})
        raise


async def delete_documents_due(
    tx: Transactions[QueuesRepository], store: BlobStore, now: datetime, retention_s: int
) -> int:
    """Delete the content of documents past retention (document.deleted each); a blob
    goes when no live document references it any more. Returns how many were deleted."""
    deleted = 0
    while True:
        async with tx() as uow:
            due = await uow.repo.documents_due(now, retention_s, limit=100)
            for document in due:
                await _mark_deleted(uow, document, now, "retention")
        await drop_unreferenced(tx, store, {d.sha256 for d in due})
        deleted += len(due)
        if len(due) < 100:
            return deleted


async def drop_unreferenced(
    tx: Transactions[QueuesRepository], store: BlobStore, shas: set[str]
) -> None:
    """Delete the blobs no live document references (after the references were dropped
    and committed: a crash in between leaves an unreferenced blob, never a dangling
    reference). The blob's lock keeps an upload from registering it meanwhile."""
    for sha256 in sorted(shas):
        async with tx() as uow:
            await uow.repo.lock_blob(sha256)
            if not await uow.repo.blob_referenced(sha256):
                await store.delete(sha256)


async def _mark_deleted(uow: Work, document: Document, now: datetime, reason: Any) -> None:
    await uow.repo.mark_document_deleted(document.id, now)
    await uow.emit(
        DocumentDeleted(
            document_id=document.id,
            tenant_id=document.tenant_id,
            owner_id=document.owner_id,
            sha256=document.sha256,
            reason=reason,
            at=now,
        ),
        tenant_id=document.tenant_id,
    )
