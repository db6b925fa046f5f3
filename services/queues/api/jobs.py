"""Jobs seen by their owners: submit, list, read, cancel, release at a printer."""

from __future__ import annotations

import json
import uuid

from aiohttp import web

from services.queues.api.context import reader, transactions, user
from services.queues.api.documents import submit_multipart
from services.queues.api.idempotency import created, idempotency_key
from services.queues.api.shapes import JobPage, Released, dump, job_out
from services.queues.domain.commands import JobFilter, ReleaseJobs, SubmitJob
from services.queues.handlers.jobs import cancel_job, shared_printer, submit_job, visible_job
from services.queues.handlers.jobs import list_jobs as find_jobs
from services.queues.handlers.release import release_at
from shared.errors import FieldError, ValidationFailed
from shared.http.body import parse_json, path_uuid, query_model


async def submit(request: web.Request) -> web.Response:
    """POST /v1/jobs: a job for a stored document (JSON) or a one-shot upload (multipart)."""
    if request.content_type.startswith("multipart/"):
        return await submit_multipart(request)
    who = user(request, "jobs:submit")
    cmd = await parse_json(request, SubmitJob)
    if cmd.document_id is None:
        raise ValidationFailed(
            "name the stored document", [FieldError("document_id", "required (or upload one)")]
        )
    key = idempotency_key(request, body=json.loads(await request.read()))
    done = await submit_job(transactions(request), cmd, cmd.document_id, who, key)
    return created(dump(job_out(done.job)), f"/v1/jobs/{done.job.id}", done.replayed)


async def list_jobs(request: web.Request) -> web.Response:
    """GET /v1/jobs: the caller's jobs (a tenant admin's: the tenant's, unless owner=me)."""
    who = reader(request)
    query = query_model(request, JobFilter)
    tenant = who.tenant_scope()
    mine = not who.is_operator and (query.owner == "me" or "admin" not in who.roles)
    if query.printer_id is not None:
        await shared_printer(transactions(request), query.printer_id, who)
    jobs = await find_jobs(
        transactions(request),
        tenant_id=tenant,
        owner_id=uuid.UUID(who.subject) if mine else None,
        state=query.state,
        printer_id=query.printer_id,
        after=query.after,
        limit=query.limit,
    )
    page = JobPage(
        items=[job_out(j) for j in jobs],
        next_after=jobs[-1].id if len(jobs) == query.limit else None,
    )
    return web.json_response(dump(page))


async def get_job(request: web.Request) -> web.Response:
    """GET /v1/jobs/{job_id}."""
    who = reader(request)
    job_id = path_uuid(request, "job_id")
    job = await visible_job(transactions(request), job_id, who)
    return web.json_response(dump(job_out(job)))


async def cancel(request: web.Request) -> web.Response:
    """POST /v1/jobs/{job_id}/cancel: any time before it completes."""
    who = user(request, "jobs:submit")
    job_id = path_uuid(request, "job_id")
    job = await cancel_job(transactions(request), job_id, who)
    return web.json_response(dump(job_out(job)))


async def release(request: web.Request) -> web.Response:
    """POST /v1/printers/{printer_id}/release: the caller's held pull jobs into this
    printer's queue, all or none."""
    who = user(request, "jobs:submit")
    printer_id = path_uuid(request, "printer_id")
    cmd = await parse_json(request, ReleaseJobs)
    assert who.tenant_id is not None
    jobs = await release_at(
        transactions(request),
        tenant_id=who.tenant_id,
        owner_id=uuid.UUID(who.subject),
        printer_id=printer_id,
        job_ids=None if cmd.all else cmd.job_ids,
    )
    return web.json_response(dump(Released(released=[job_out(j) for j in jobs])))
