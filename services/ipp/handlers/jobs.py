"""Print-Job, Create-Job, Send-Document, Cancel-Job, Get-Job-Attributes and Get-Jobs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.ipp.domain.model import (
    AWAITING_DOCUMENT,
    CREATE_CANCELED,
    HELD,
    IppJob,
    final,
    ipp_job_state,
)
from services.ipp.domain.template import IPP_NAMES, sniff
from services.ipp.handlers.common import Call, api_failure
from services.ipp.handlers.printer import check_job
from services.ipp.protocol.codec import Attribute, Group, IppError, Message
from services.ipp.protocol.constants import JobState, Status, Tag
from services.ipp.upstream import ApiError

JOB_DESCRIPTION = (
    "job-id", "job-uri", "job-printer-uri", "job-name", "job-originating-user-name",
    "job-state", "job-state-reasons", "job-state-message", "job-uuid", "number-of-documents",
    "time-at-creation", "time-at-processing", "time-at-completed", "job-printer-up-time",
    "job-impressions-completed", "date-time-at-creation", "date-time-at-completed",
    "date-time-at-processing", "copies", "sides", "media", "print-color-mode",
)  # fmt: skip
BRIEF = ("job-id", "job-uri")
CREATED = ("job-id", "job-uri", "job-state", "job-state-reasons", "job-state-message")


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _seconds(call: Call, when: datetime | None) -> int:
    return max(1, int((when - call.started).total_seconds())) if when else 0


def job_attributes(call: Call, job: IppJob, upstream: dict[str, Any] | None) -> list[Attribute]:
    """Every job attribute of ``job`` (``upstream``: its Printcloud job, once it has one)."""
    if upstream is not None:
        state, reason = ipp_job_state(str(upstream.get("state", "")))
        message = str(upstream.get("state_detail") or upstream.get("state", ""))
        printed = int(upstream.get("printed_pages") or 0) if state == JobState.COMPLETED else 0
    elif job.state == "canceled":
        (state, reason), message, printed = CREATE_CANCELED, "canceled", 0
    elif job.state == "held":
        (state, reason), message, printed = HELD, "held until released (Release-Job)", 0
    else:
        (state, reason), message, printed = AWAITING_DOCUMENT, "waiting for the document", 0
    created = job.created_at
    processing = _when(upstream.get("queued_at")) if upstream else None
    completed = _when(upstream.get("finished_at")) if upstream else None
    attrs = [
        Attribute.of("job-id", Tag.INTEGER, job.id),
        Attribute.of("job-uri", Tag.URI, call.job_uri(job.id)),
        Attribute.of("job-printer-uri", Tag.URI, call.printer_uri),
        Attribute.of("job-name", Tag.NAME, job.name[:255] or f"Job {job.id}"),
        Attribute.of("job-originating-user-name", Tag.NAME, job.owner_id[:255]),
        Attribute.of("job-state", Tag.ENUM, state),
        Attribute.of("job-state-reasons", Tag.KEYWORD, reason),
        Attribute.of("job-state-message", Tag.TEXT, message[:255]),
        Attribute.of(
            "job-uuid",
            Tag.URI,
            f"urn:uuid:{job.job_uuid or uuid.uuid5(uuid.NAMESPACE_URL, f'ipp-job:{job.id}')}",
        ),
        Attribute.of(
            "number-of-documents", Tag.INTEGER, 1 if job.job_uuid or job.document_id else 0
        ),
        Attribute.of("time-at-creation", Tag.INTEGER, _seconds(call, created)),
        Attribute.of("date-time-at-creation", Tag.DATE_TIME, created),
        Attribute.of("job-printer-up-time", Tag.INTEGER, _seconds(call, call.now)),
        Attribute.of("job-impressions-completed", Tag.INTEGER, printed),
    ]
    for name, when in (("processing", processing), ("completed", completed)):
        if when:
            attrs.append(Attribute.of(f"time-at-{name}", Tag.INTEGER, _seconds(call, when)))
            attrs.append(Attribute.of(f"date-time-at-{name}", Tag.DATE_TIME, when))
        else:
            attrs.append(Attribute.of(f"time-at-{name}", Tag.NO_VALUE, None))
            attrs.append(Attribute.of(f"date-time-at-{name}", Tag.NO_VALUE, None))
    settings = job.settings
    attrs.append(Attribute.of("copies", Tag.INTEGER, int(settings.get("copies", 1))))  # type: ignore[call-overload]
    for key, name in (
        ("sides", "sides"),
        ("media", "media"),
        ("print_color_mode", "print-color-mode"),
    ):
        if settings.get(key):
            attrs.append(Attribute.of(name, Tag.KEYWORD, settings[key]))
    return attrs


def _selected(
    attrs: list[Attribute], requested: list[str] | None, default: tuple[str, ...] | None
) -> list[Attribute]:
    if requested is None:
        return attrs if default is None else [a for a in attrs if a.name in default]
    if "all" in requested or "job-description" in requested or "job-template" in requested:
        return attrs
    return [a for a in attrs if a.name in requested]


def _refused(call: Call, exc: ApiError) -> IppError:
    """An API refusal of a document or job in IPP terms (naming the attributes)."""
    rid = call.request.request_id
    if exc.status == 422 and isinstance(exc.body, dict) and exc.body.get("invalid_settings"):
        for problem in exc.body["invalid_settings"]:
            setting = str(problem.get("setting", ""))
            ipp_name = IPP_NAMES.get(setting, setting.replace("_", "-"))
            sent = call.request.group(Tag.JOB)
            attr = sent.get(ipp_name) if sent else None
            call.unsupported.append(attr or Attribute.of(ipp_name, Tag.UNSUPPORTED, None))
        settings = [p.get("setting") for p in exc.body["invalid_settings"]]
        status = (
            Status.DOCUMENT_FORMAT_NOT_SUPPORTED
            if all(s == "document_format" for s in settings)
            else Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
        )
        return IppError(status, str(exc.body.get("detail", "refused")), rid)
    code = exc.body.get("code") if isinstance(exc.body, dict) else None
    if code in ("document-invalid", "document-format-not-supported"):
        status = (
            Status.DOCUMENT_FORMAT_ERROR
            if code == "document-invalid"
            else Status.DOCUMENT_FORMAT_NOT_SUPPORTED
        )
        return IppError(status, str(exc.body.get("detail", "refused")), rid)
    if exc.status == 409:
        return IppError(Status.NOT_ACCEPTING_JOBS, "the printer is not accepting jobs yet", rid)
    return api_failure(exc, rid)


async def _store(call: Call, document_format: str, name: str) -> str:
    """Stream the document to the blob store (``POST /v1/documents``) as it arrives;
    its document id. A format the target cannot take is refused, never converted."""
    rid = call.request.request_id
    if document_format == "application/octet-stream":
        found = sniff(await call.document.peek(16))
        if found is None:
            raise IppError(Status.DOCUMENT_FORMAT_NOT_SUPPORTED,
                           "the document's format is not recognised", rid)  # fmt: skip
        document_format = found
    if document_format not in (call.caps.document_format_supported or ["application/pdf"]):
        call.unsupported.append(Attribute.of("document-format", Tag.MIME_TYPE, document_format))
        raise IppError(Status.DOCUMENT_FORMAT_NOT_SUPPORTED,
                       f"the printer does not take {document_format}", rid)  # fmt: skip
    try:
        document = await call.api.upload(call.document.chunks(), document_format, name)
    except ApiError as exc:
        raise _refused(call, exc) from exc
    return str(document["document_id"])


async def submit(
    call: Call, document_id: str, job_settings: dict[str, Any], name: str
) -> dict[str, Any]:
    """The Printcloud job of a stored document (``POST /v1/jobs``); refusals in IPP terms."""
    try:
        return await call.api.submit(document_id, call.target, job_settings, name)
    except ApiError as exc:
        raise _refused(call, exc) from exc


async def _submit(
    call: Call, job_settings: dict[str, Any], document_format: str, name: str
) -> dict[str, Any]:
    """Stream the document to the platform and create its job."""
    document_id = await _store(call, document_format, name)
    return await submit(call, document_id, job_settings, name)


def created(call: Call, job: IppJob, upstream: dict[str, Any] | None) -> Message:
    """The answer to a request that made or changed a job: its brief attributes."""
    status = Status.OK_IGNORED_OR_SUBSTITUTED if call.unsupported else Status.OK
    return call.answer(
        status, "", Group(Tag.JOB, _selected(job_attributes(call, job, upstream), None, CREATED))
    )


def _job_name(call: Call) -> str:
    name = call.op_value("job-name")
    return str(name) if name else "Untitled"


async def print_job(call: Call) -> Message:
    """A document and its job in one request; with job-hold-until the document is
    stored and the job held until Release-Job."""
    template, document_format = check_job(call)
    settings = template.settings.model_dump(mode="json", exclude_defaults=True)
    name = _job_name(call)
    if template.hold_until:
        document_id = await _store(call, document_format, name)
        async with call.tx() as uow:
            job = await uow.repo.add(
                call.target.id, call.owner_id, call.tenant_id, name, settings, None,
                hold_until=template.hold_until, document_id=uuid.UUID(document_id),
            )  # fmt: skip
        return created(call, job, None)
    upstream = await _submit(call, settings, document_format, name)
    async with call.tx() as uow:
        job = await uow.repo.add(call.target.id, call.owner_id, call.tenant_id, name, settings,
                                 uuid.UUID(str(upstream["id"])))  # fmt: skip
    return created(call, job, upstream)


async def create_job(call: Call) -> Message:
    """A job that waits for its document (Send-Document)."""
    template, _ = check_job(call)
    settings = template.settings.model_dump(mode="json", exclude_defaults=True)
    async with call.tx() as uow:
        job = await uow.repo.add(call.target.id, call.owner_id, call.tenant_id, _job_name(call),
                                 settings, None, hold_until=template.hold_until)  # fmt: skip
    return created(call, job, None)


async def own_job(call: Call) -> IppJob:
    """The job named by job-id (or job-uri) at this printer, of this user; not-found else."""
    rid = call.request.request_id
    job_id = call.op_value("job-id", Tag.INTEGER)
    if job_id is None:
        uri = call.op_value("job-uri", Tag.URI)
        tail = str(uri).rstrip("/").rsplit("/", 1)[-1] if uri is not None else ""
        if not tail.isdigit():
            raise IppError(Status.BAD_REQUEST, "job-id or job-uri is required", rid)
        job_id = int(tail)
    assert isinstance(job_id, int)
    async with call.tx() as uow:
        job = await uow.repo.get(job_id)
    if job is None or job.target_id != call.target.id or job.owner_id != call.owner_id:
        raise IppError(Status.NOT_FOUND, f"no job {job_id} of yours at this printer", rid)
    return job


async def send_document(call: Call) -> Message:
    """The document of a Create-Job: it becomes an ordinary Printcloud job."""
    rid = call.request.request_id
    job = await own_job(call)
    last = call.op_value("last-document", Tag.BOOLEAN)
    if last is None:
        raise IppError(Status.BAD_REQUEST, "last-document is required", rid)
    if last is not True:
        raise IppError(Status.MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED, "one document per job", rid)
    if job.state != "awaiting-document":
        raise IppError(Status.NOT_POSSIBLE, "the job already has its document or was canceled", rid)
    fmt = call.op_value("document-format", Tag.MIME_TYPE)
    document_format = str(fmt) if fmt is not None else "application/octet-stream"
    document_id = await _store(call, document_format, job.name)
    if job.hold_until:
        async with call.tx() as uow:
            now = await uow.repo.get(job.id, lock=True)
            if now is None or now.state != "awaiting-document":
                raise IppError(Status.NOT_POSSIBLE,
                               "the job was canceled or got a document meanwhile", rid)  # fmt: skip
            job = now.stored(uuid.UUID(document_id))
            await uow.repo.save(job)
        return created(call, job, None)
    upstream = await submit(call, document_id, dict(job.settings), job.name)
    job, upstream = await settle(call, job.id, "awaiting-document", upstream)
    return created(call, job, upstream)


async def settle(
    call: Call, job_id: int, expected: str, upstream: dict[str, Any]
) -> tuple[IppJob, dict[str, Any]]:
    """Record the Printcloud job made for IPP job ``job_id``, which must still be in
    state ``expected``; if it was canceled meanwhile the new job is canceled too."""
    job_uuid = uuid.UUID(str(upstream["id"]))
    async with call.tx() as uow:
        now = await uow.repo.get(job_id, lock=True)
        if now is not None and now.state == expected:
            job = now.submitted(job_uuid)
            await uow.repo.save(job)
            return job, upstream
    await call.api.cancel(job_uuid)
    raise IppError(Status.NOT_POSSIBLE, "the job was canceled meanwhile",
                   call.request.request_id)  # fmt: skip


async def cancel_job(call: Call) -> Message:
    """Cancel a job of one's own that has not finished."""
    rid = call.request.request_id
    job = await own_job(call)
    if job.job_uuid is None:  # waiting for its document, or held
        if job.state == "canceled":
            raise IppError(Status.NOT_POSSIBLE, "the job is already canceled", rid)
        async with call.tx() as uow:
            await uow.repo.save(job.canceled())
        return call.answer(Status.OK, "")
    try:
        current = await call.api.job(job.job_uuid)
        if final(ipp_job_state(str(current.get("state")))[0]):
            raise IppError(Status.NOT_POSSIBLE, f"the job is {current.get('state')}", rid)
        await call.api.cancel(job.job_uuid)
    except ApiError as exc:
        code = exc.body.get("code") if isinstance(exc.body, dict) else None
        if code in ("document-invalid", "document-format-not-supported"):
            status = (
                Status.DOCUMENT_FORMAT_ERROR
                if code == "document-invalid"
                else Status.DOCUMENT_FORMAT_NOT_SUPPORTED
            )
            raise IppError(status, str(exc.body.get("detail", "refused")), rid) from exc
        if exc.status == 409:
            raise IppError(Status.NOT_POSSIBLE, "the job can no longer be canceled", rid) from exc
        raise api_failure(exc, rid) from exc
    return call.answer(Status.OK, "")


async def _upstream(call: Call, job: IppJob) -> dict[str, Any] | None:
    if job.job_uuid is None:
        return None
    try:
        return await call.api.job(job.job_uuid)
    except ApiError as exc:
        raise api_failure(exc, call.request.request_id) from exc


async def get_job_attributes(call: Call) -> Message:
    """One job's attributes."""
    job = await own_job(call)
    attrs = job_attributes(call, job, await _upstream(call, job))
    return call.answer(Status.OK, "", Group(Tag.JOB, _selected(attrs, call.requested(), None)))


async def get_jobs(call: Call) -> Message:
    """The user's jobs at this printer: not-completed (default) or completed."""
    rid = call.request.request_id
    which = call.op_value("which-jobs", Tag.KEYWORD) or "not-completed"
    if which not in ("completed", "not-completed", "all"):
        call.unsupported.append(Attribute.of("which-jobs", Tag.KEYWORD, which))
        raise IppError(Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED, f"which-jobs {which}", rid)
    asked = call.op_value("limit", Tag.INTEGER)
    limit = asked if isinstance(asked, int) and asked > 0 else 100
    async with call.tx() as uow:
        jobs = await uow.repo.list_for(call.target.id, call.owner_id, 500)
    groups: list[Group] = []
    requested = call.requested()
    for job in jobs:
        if len(groups) >= limit:
            break
        attrs = job_attributes(call, job, await _upstream(call, job))
        state = next(a.first for a in attrs if a.name == "job-state")
        done = final(JobState(state))  # type: ignore[arg-type]
        if which == "all" or (which == "completed") == done:
            groups.append(Group(Tag.JOB, _selected(attrs, requested, BRIEF)))
    return call.answer(Status.OK, "", *groups)
