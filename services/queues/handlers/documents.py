"""Storing uploaded documents and deleting them when retention says so."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.queues.domain.commands import StoreDocument, SubmitJob
from services.queues.domain.events import DocumentDeleted
from services.queues.domain.model import Document
from services.queues.handlers.common import Work
from services.queues.handlers.idempotency import IdempotencyKey, claim
from services.queues.handlers.jobs import Submitted, create_job, replayed_job
from services.queues.repository import QueuesRepository
from shared.blobstore import BlobRef, BlobStore
from shared.db.uow import Transactions
from shared.errors import DomainError
from shared.http.auth import Principal
from shared.printing.pages import counter_for


class StoreUnavailable(DomainError):
    """The blob vanished between upload and registration (a concurrent deletion)."""

    def __init__(self) -> None:
        super().__init__(
            "the document store changed during the upload; send it again",
            code="store-busy",
            status=503,
            title="Unavailable",
        )


async def _counted(chunks: AsyncIterable[bytes], feed: Any) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        feed(chunk)
        yield chunk


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
    pages: int | None


async def put_upload(
    store: BlobStore, chunks: AsyncIterable[bytes], cmd: StoreDocument, max_bytes: int
) -> Upload:
    """Stream the bytes into the blob store (hashed, counted, size-limited,
    digest-checked); pages from the client or counted."""
    counter = counter_for(cmd.format)
    ref = await store.put_stream(_counted(chunks, counter.feed), max_bytes, cmd.sha256)
    return Upload(ref, cmd.pages if cmd.pages is not None else counter.pages())


async def register_document(
    uow: Work,
    store: BlobStore,
    upload: Upload,
    cmd: StoreDocument,
    who: Principal,
    document_id: uuid.UUID,
) -> Document:
    """In the caller's unit of work: the document for a stored blob."""
    assert who.tenant_id is not None
    await uow.repo.lock_blob(upload.ref.sha256)
    if not await store.exists(upload.ref.sha256):
        raise StoreUnavailable()
    return await uow.repo.insert_document(
        id=document_id,
        tenant_id=who.tenant_id,
        owner_id=uuid.UUID(who.subject),
        sha256=upload.ref.sha256,
        size=upload.ref.size,
        format=cmd.format,
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
    max_bytes: int,
    key: IdempotencyKey | None = None,
) -> Stored:
    """Stream the bytes into the blob store, then register the document (and the
    idempotency key, in the same transaction)."""
    upload = await put_upload(store, chunks, cmd, max_bytes)
    document_id = uuid.uuid4()
    async with tx() as uow:
        first = await claim(
            uow, key, who, "document", document_id, document_sha256=upload.ref.sha256
        )
        if first is not None:
            row = await uow.repo.any_document(first)
            assert row is not None, "document rows are never deleted"
            return Stored(row, replayed=True)
        return Stored(await register_document(uow, store, upload, cmd, who, document_id))


async def submit_upload(
    tx: Transactions[QueuesRepository],
    store: BlobStore,
    chunks: AsyncIterable[bytes],
    meta: StoreDocument,
    cmd: SubmitJob,
    who: Principal,
    max_bytes: int,
    key: IdempotencyKey | None = None,
) -> Submitted:
    """A one-shot submission: the document streamed into the blob store, then the
    document, the job (job.submitted) and the idempotency key in one transaction."""
    upload = await put_upload(store, chunks, meta, max_bytes)
    job_id = uuid.uuid4()
    async with tx() as uow:
        first = await claim(uow, key, who, "job", job_id, document_sha256=upload.ref.sha256)
        if first is not None:
            return await replayed_job(uow, first)
        document = await register_document(uow, store, upload, meta, who, uuid.uuid4())
        return Submitted(await create_job(uow, cmd, job_id, document, who))


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
