"""Storing uploaded documents and deleting them when retention says so."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.queues import repository as repo
from services.queues.domain.commands import StoreDocument, SubmitJob
from services.queues.handlers.idempotency import IdempotencyKey, claim
from services.queues.handlers.jobs import Submitted, create_job, replayed_job
from shared.blobstore import BlobRef, BlobStore
from shared.db.outbox import Emitter
from shared.errors import DomainError
from shared.events.contracts.jobs import DocumentDeleted
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

    document: asyncpg.Record
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
    conn: asyncpg.Connection,
    store: BlobStore,
    upload: Upload,
    cmd: StoreDocument,
    who: Principal,
    document_id: uuid.UUID,
) -> asyncpg.Record:
    """In the caller's transaction: the document row for a stored blob."""
    assert who.tenant_id is not None
    await repo.lock_blob(conn, upload.ref.sha256)
    if not await store.exists(upload.ref.sha256):
        raise StoreUnavailable()
    return await repo.insert_document(
        conn,
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
    pool: asyncpg.Pool,
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
    async with pool.acquire() as conn, conn.transaction():
        first = await claim(
            conn, key, who, "document", document_id, document_sha256=upload.ref.sha256
        )
        if first is not None:
            row = await repo.any_document(conn, first)
            assert row is not None, "document rows are never deleted"
            return Stored(row, replayed=True)
        return Stored(await register_document(conn, store, upload, cmd, who, document_id))


async def submit_upload(
    pool: asyncpg.Pool,
    store: BlobStore,
    chunks: AsyncIterable[bytes],
    meta: StoreDocument,
    cmd: SubmitJob,
    who: Principal,
    out: Emitter,
    max_bytes: int,
    key: IdempotencyKey | None = None,
) -> Submitted:
    """A one-shot submission: the document streamed into the blob store, then the
    document, the job (job.submitted) and the idempotency key in one transaction."""
    upload = await put_upload(store, chunks, meta, max_bytes)
    job_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        first = await claim(conn, key, who, "job", job_id, document_sha256=upload.ref.sha256)
        if first is not None:
            return await replayed_job(conn, first)
        document = await register_document(conn, store, upload, meta, who, uuid.uuid4())
        return Submitted(await create_job(conn, cmd, job_id, document, who, out))


async def delete_documents_due(
    pool: asyncpg.Pool, store: BlobStore, out: Emitter, now: datetime, retention_s: int
) -> int:
    """Delete the content of documents past retention (document.deleted each); a blob
    goes when no live document references it any more. Returns how many were deleted."""
    deleted = 0
    while True:
        async with pool.acquire() as conn:
            async with conn.transaction():
                rows = await repo.documents_due(conn, now, retention_s, limit=100)
                for row in rows:
                    await _mark_deleted(conn, out, row, now, "retention")
            await drop_unreferenced(conn, store, {r["sha256"] for r in rows})
        deleted += len(rows)
        if len(rows) < 100:
            return deleted


async def drop_unreferenced(conn: asyncpg.Connection, store: BlobStore, shas: set[str]) -> None:
    """Delete the blobs no live document references (after the references were dropped
    and committed: a crash in between leaves an unreferenced blob, never a dangling
    reference). The blob's lock keeps an upload from registering it meanwhile."""
    for sha256 in sorted(shas):
        async with conn.transaction():
            await repo.lock_blob(conn, sha256)
            if not await repo.blob_referenced(conn, sha256):
                await store.delete(sha256)


async def _mark_deleted(
    conn: asyncpg.Connection,
    out: Emitter,
    row: asyncpg.Record,
    now: datetime,
    reason: Any,
) -> None:
    await repo.mark_document_deleted(conn, row["id"], now)
    await out.emit(
        conn,
        DocumentDeleted(
            document_id=row["id"],
            tenant_id=row["tenant_id"],
            owner_id=row["owner_id"],
            sha256=row["sha256"],
            reason=reason,
            at=now,
        ),
        tenant_id=row["tenant_id"],
    )
