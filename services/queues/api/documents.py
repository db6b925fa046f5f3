"""Uploading documents: raw bodies and one-shot multipart submissions, streamed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from aiohttp import BodyPartReader, web
from pydantic import ValidationError

from services.queues.api.context import CONTEXT, blobs, transactions, user
from services.queues.api.idempotency import created, idempotency_key
from services.queues.api.shapes import document_out, dump, job_out
from services.queues.domain.commands import StoreDocument, SubmitJob
from services.queues.handlers.documents import Limits, store_document, submit_upload
from services.queues.handlers.jobs import check_settings, printable_format, resolve_target
from shared.blobstore import announced_sha256
from shared.errors import DomainError, FieldError, ValidationFailed
from shared.http.body import MAX_JSON_DEPTH, field_errors, too_deep
from shared.http.uploads import check_encoding, check_part_encoding, decoded_chunks

CHUNK = 256 << 10
JOB_PART_LIMIT = 1 << 20


def _meta(request: web.Request, document_format: str, title: str = "") -> StoreDocument:
    query = request.query
    raw = {
        "format": document_format,
        "title": query.get("title", request.headers.get("X-Title", title)),
        "keep": query.get("keep", "false"),
        "priority": query.get("priority", "0"),
        "pages": query.get("pages"),
        "sha256": announced_sha256(request.headers, query),
    }
    try:
        return StoreDocument.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        raise ValidationFailed("invalid document parameters", field_errors(exc)) from None


async def upload(request: web.Request) -> web.Response:
    """POST /v1/documents: the raw body is the document, its Content-Type the format."""
    who = user(request, "jobs:submit")
    check_encoding(request.headers)
    meta = _meta(request, request.content_type)
    key = idempotency_key(request, format=meta.format)
    done = await store_document(
        transactions(request),
        blobs(request),
        decoded_chunks(request, CHUNK),
        meta,
        who,
        _limits(request),
        key,
    )
    document = done.document
    return created(dump(document_out(document)), f"/v1/documents/{document.id}", done.replayed)


async def _part_chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):
        yield chunk


def _limits(request: web.Request) -> Limits:
    settings = CONTEXT.settings(request)
    return Limits(settings.max_document_bytes, settings.tenant_storage_bytes)


def _refuse(detail: str, name: str) -> DomainError:
    return ValidationFailed(detail, [FieldError(name, detail)])


async def submit_multipart(request: web.Request) -> web.Response:
    """POST /v1/jobs as multipart/form-data: a ``job`` JSON part, then the ``document``."""
    who = user(request, "jobs:submit")
    key = idempotency_key(request)  # a malformed key is refused before the upload
    check_encoding(request.headers)
    reader = await request.multipart()
    part = await reader.next()
    if not isinstance(part, BodyPartReader) or part.name != "job":
        raise _refuse("the first part must be the job (JSON)", "job")
    raw = await part.read(decode=False)
    if len(raw) > JOB_PART_LIMIT:
        raise _refuse("the job part is too large", "job")
    if too_deep(raw):
        raise _refuse(f"the job part nests deeper than {MAX_JSON_DEPTH} levels", "job")
    try:
        cmd = SubmitJob.model_validate(json.loads(raw))
    except ValueError as exc:
        errors = (
            field_errors(exc)
            if isinstance(exc, ValidationError)
            else [FieldError("job", f"not valid JSON: {exc}")]
        )
        raise ValidationFailed("the job part does not match the schema", errors) from None
    if cmd.document_id is not None:
        raise _refuse(
            "a one-shot submission carries its document; omit document_id", "job.document_id"
        )
    doc = await reader.next()
    if not isinstance(doc, BodyPartReader) or doc.name != "document":
        raise _refuse("the second part must be the document", "document")
    check_part_encoding(doc.headers, "document")
    document_format = (doc.headers.get("Content-Type") or "application/octet-stream").split(";")[0]
    tx = transactions(request)
    assert who.tenant_id is not None
    async with tx() as uow:
        # Refuse before a byte is stored: unknown target, unfit settings or format.
        target = await resolve_target(uow, cmd, who.tenant_id)
        check_settings(
            target, cmd.settings, printable_format(target, document_format.strip().lower())
        )
    meta = _meta(request, document_format.strip().lower(), cmd.title or doc.filename or "")
    if key is not None:
        key = key.adding(job=json.loads(raw), format=document_format)
    done = await submit_upload(
        tx,
        blobs(request),
        _part_chunks(doc),
        meta,
        cmd,
        who,
        _limits(request),
        key,
    )
    return created(dump(job_out(done.job)), f"/v1/jobs/{done.job.id}", done.replayed)
