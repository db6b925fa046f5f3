"""Get-Printer-Attributes and Validate-Job."""

from __future__ import annotations

from services.ipp.domain.printer import IDENTIFY_ACTIONS, printer_attributes, select
from services.ipp.domain.template import Template, format_supported, read_template
from services.ipp.handlers.common import Call, api_failure
from services.ipp.protocol.codec import Attribute, Group, IppError, Message
from services.ipp.protocol.constants import Status, Tag
from services.ipp.upstream import ApiError


async def get_printer_attributes(call: Call, queued: int = 0) -> Message:
    """The printer's attributes (all, or those requested)."""
    requested = call.requested()
    fmt = call.op_value("document-format", Tag.MIME_TYPE)
    if fmt is not None and not format_supported(str(fmt), call.caps):
        call.unsupported.append(Attribute.of("document-format", Tag.MIME_TYPE, fmt))
    attrs = printer_attributes(
        call.target, call.caps, call.printer_uri, secure=call.secure, queued=queued,
        now=call.now, started=call.started,
    )  # fmt: skip
    group = Group(Tag.PRINTER, select(attrs, requested))
    return call.answer(Status.OK, "", group)


def check_job(call: Call) -> tuple[Template, str]:
    """The job's settings and document format, or the refusal naming what is not
    supported (the unsupported attributes group)."""
    rid = call.request.request_id
    fmt = call.op_value("document-format", Tag.MIME_TYPE)
    document_format = str(fmt) if fmt is not None else "application/octet-stream"
    if not format_supported(document_format, call.caps):
        call.unsupported.append(Attribute.of("document-format", Tag.MIME_TYPE, document_format))
        raise IppError(Status.DOCUMENT_FORMAT_NOT_SUPPORTED,
                       f"the printer does not take {document_format}", rid)  # fmt: skip
    compression = call.op_value("compression", Tag.KEYWORD)
    if compression not in (None, "none"):
        call.unsupported.append(Attribute.of("compression", Tag.KEYWORD, compression))
        raise IppError(Status.COMPRESSION_NOT_SUPPORTED, "documents are not compressed", rid)
    name = call.op_value("job-name")
    if name is not None and not isinstance(name, str):
        raise IppError(Status.BAD_REQUEST, "job-name: wrong syntax", rid)
    fidelity = call.op_value("ipp-attribute-fidelity", Tag.BOOLEAN)
    template = read_template(call.request.group(Tag.JOB), call.caps, None)
    call.unsupported.extend(template.refused)
    if template.refused:
        raise IppError(Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                       "the printer cannot print the job as asked", rid)  # fmt: skip
    call.unsupported.extend(template.ignored)
    if template.ignored and fidelity is True:
        raise IppError(Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                       "unsupported attributes with ipp-attribute-fidelity", rid)  # fmt: skip
    return template, document_format


async def validate_job(call: Call) -> Message:
    """Whether Print-Job would accept these attributes (nothing is stored)."""
    check_job(call)
    status = Status.OK_IGNORED_OR_SUBSTITUTED if call.unsupported else Status.OK
    return call.answer(status, "")


async def identify_printer(call: Call) -> Message:
    """Make the device show itself (the registry's ``identify`` command, delivered by its
    agent); a virtual printer has no device: operation-not-supported."""
    rid = call.request.request_id
    if call.target.kind != "printer":
        raise IppError(Status.OPERATION_NOT_SUPPORTED,
                       "a virtual printer has no device to identify", rid)  # fmt: skip
    actions = call.operation.get("identify-actions")
    if actions is not None:
        if any(v.tag != Tag.KEYWORD for v in actions.values):
            raise IppError(Status.BAD_REQUEST, "identify-actions: wrong syntax", rid)
        if any(v.value not in IDENTIFY_ACTIONS for v in actions.values):
            call.unsupported.append(actions)
            raise IppError(Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED,
                           f"identify-actions: {', '.join(IDENTIFY_ACTIONS)}", rid)  # fmt: skip
    try:
        await call.api.identify(call.target.id)
    except ApiError as exc:
        if exc.status == 403:
            raise IppError(Status.NOT_AUTHORIZED,
                           "identifying a printer takes the admin role", rid) from exc  # fmt: skip
        raise api_failure(exc, rid) from exc
    return call.answer(Status.OK, "")
