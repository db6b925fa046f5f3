"""The IPP endpoint: one POST per IPP request (RFC 8010 §4: application/ipp over HTTP).

The IPP header is read and decoded before anything else; the document that follows it
is never held: it streams on to ``POST /v1/documents``. A malformed message gets the
IPP status that says so, unknown operations ``server-error-operation-not-supported``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web

from services.ipp.api.auth import REALM, NotAuthenticated, Unavailable, authenticate
from services.ipp.api.context import CONTEXT, HTTP, STARTED, transactions
from services.ipp.handlers import control, jobs, printer
from services.ipp.handlers.common import Call, DocumentStream, api_failure, response
from services.ipp.protocol.codec import Attribute, Incomplete, IppError, Message, decode, encode
from services.ipp.protocol.constants import SUPPORTED_VERSIONS, Op, Status, Tag
from services.ipp.upstream import ApiError, PrintcloudApi
from shared.http.middleware import public
from shared.http.problem import problem_response
from shared.logging import get_logger

log = get_logger(__name__)
CHUNK = 64 << 10
MEDIA_TYPE = "application/ipp"

Handler = Callable[[Call], Awaitable[Message]]
OPERATIONS: dict[int, Handler] = {
    Op.GET_PRINTER_ATTRIBUTES: printer.get_printer_attributes,
    Op.VALIDATE_JOB: printer.validate_job,
    Op.PRINT_JOB: jobs.print_job,
    Op.CREATE_JOB: jobs.create_job,
    Op.SEND_DOCUMENT: jobs.send_document,
    Op.CANCEL_JOB: jobs.cancel_job,
    Op.GET_JOB_ATTRIBUTES: jobs.get_job_attributes,
    Op.GET_JOBS: jobs.get_jobs,
    Op.HOLD_JOB: control.hold_job,
    Op.RELEASE_JOB: control.release_job,
    Op.CLOSE_JOB: control.close_job,
    Op.CANCEL_MY_JOBS: control.cancel_my_jobs,
    Op.IDENTIFY_PRINTER: printer.identify_printer,
}


JOB_OPERATIONS = frozenset({
    Op.GET_JOB_ATTRIBUTES, Op.CANCEL_JOB, Op.SEND_DOCUMENT, Op.HOLD_JOB, Op.RELEASE_JOB,
    Op.CLOSE_JOB,
})  # fmt: skip
"""Operations on one job: printer-uri needs job-id beside it."""


def _unauthenticated(request: web.Request, detail: str) -> web.Response:
    """401 with the Basic challenge IPP clients answer with the stored credentials."""
    return problem_response(
        401, "Unauthenticated", detail, code="unauthenticated", instance=request.path,
        headers={"WWW-Authenticate": REALM},
    )  # fmt: skip


def _answer(message: Message) -> web.Response:
    return web.Response(body=encode(message), content_type=MEDIA_TYPE)


def _error(
    version: tuple[int, int], exc: IppError, unsupported: list[Attribute] | None = None
) -> web.Response:
    if version not in SUPPORTED_VERSIONS:
        version = (1, 1)
    return _answer(response(version, exc.status, exc.request_id, exc.message, unsupported))


async def _read_header(request: web.Request, limit: int) -> tuple[Message, bytes]:
    """The decoded IPP header and the document octets read along with it.

    The buffer grows only outside the ``except``: the Incomplete being handled holds the
    decoder's frames, whose view of the buffer forbids resizing it."""
    buf = bytearray()
    while True:
        try:
            message, used = decode(buf)
            if used <= limit:
                return message, bytes(buf[used:])
            request_id = message.request_id  # it came whole, in large reads
        except Incomplete as exc:
            request_id = exc.request_id
        if len(buf) > limit:
            raise IppError(
                Status.REQUEST_ENTITY_TOO_LARGE, "the attributes are too large", request_id
            )
        chunk = await request.content.readany()
        if not chunk:
            truncated = Incomplete(request_id)
            truncated.version = (buf[0], buf[1]) if len(buf) >= 2 else None
            raise truncated
        buf += chunk


def _check_operation_group(message: Message) -> None:
    """RFC 8011 §4.1.4: operation attributes first, charset then natural language."""
    rid = message.request_id
    if not message.groups or message.groups[0].tag != Tag.OPERATION:
        raise IppError(Status.BAD_REQUEST, "the operation attributes must come first", rid)
    if len(message.groups_of(Tag.OPERATION)) > 1:
        raise IppError(Status.BAD_REQUEST, "one operation attributes group", rid)
    attrs = message.groups[0].attributes
    if len(attrs) < 2 or attrs[0].name != "attributes-charset" or attrs[0].tag != Tag.CHARSET:
        raise IppError(Status.BAD_REQUEST, "attributes-charset must come first", rid)
    if attrs[1].name != "attributes-natural-language" or attrs[1].tag != Tag.LANGUAGE:
        raise IppError(Status.BAD_REQUEST, "attributes-natural-language must come second", rid)
    if len(attrs[0].values) != 1 or len(attrs[1].values) != 1:
        raise IppError(Status.BAD_REQUEST, "one charset and one natural language", rid)
    if str(attrs[0].first).lower() not in ("utf-8", "us-ascii"):
        raise IppError(Status.CHARSET_NOT_SUPPORTED, "utf-8 only", rid)
    uri = message.groups[0].get("printer-uri") or message.groups[0].get("job-uri")
    if uri is None:
        raise IppError(Status.BAD_REQUEST, "printer-uri or job-uri is required", rid)
    if uri.tag != Tag.URI or len(uri.values) != 1:
        raise IppError(Status.BAD_REQUEST, f"{uri.name}: wrong syntax", rid)
    if message.code in JOB_OPERATIONS:
        if uri.name == "printer-uri" and message.groups[0].get("job-id") is None:
            raise IppError(Status.BAD_REQUEST, "job-id is required with printer-uri", rid)


def _secure(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def _printer_uri(request: web.Request, message: Message, target_id: str) -> str:
    """The printer's URI as the client reached it (the edge's host, ipps behind TLS)."""
    path = f"/ipp/print/{target_id}"
    sent = message.groups[0].get("printer-uri")
    if sent is not None and isinstance(sent.first, str):
        given = sent.first
        if (
            given.startswith(("ipp://", "ipps://"))
            and given.split("://", 1)[1].partition("/")[2].rstrip("/") == path[1:]
        ):
            return given
    host = request.headers.get("X-Forwarded-Host") or request.host
    return f"{'ipps' if _secure(request) else 'ipp'}://{host}{path}"


@public
async def ipp_request(request: web.Request) -> web.StreamResponse:
    """POST /ipp/print/{printer_id}: one IPP request to a printer or virtual printer."""
    settings = CONTEXT.settings(request)
    version: tuple[int, int] = (2, 0)
    try:
        message, first = await _read_header(request, settings.max_request_attributes)
        version = message.version
        _check_operation_group(message)
        handler = OPERATIONS.get(message.code)
        if handler is None:
            raise IppError(
                Status.OPERATION_NOT_SUPPORTED,
                f"operation {message.code:#06x} is not supported",
                message.request_id,
            )
        try:
            user = await authenticate(request)
        except NotAuthenticated as exc:
            return _unauthenticated(request, str(exc))
        except Unavailable:
            return problem_response(
                503, "Service unavailable", "the platform cannot be reached",
                code="dependency-unavailable", instance=request.path,
                headers={"Retry-After": "5"},
            )  # fmt: skip
        api = PrintcloudApi(request.app[HTTP], settings.api_url, user.access_token)
        try:
            target_id = uuid.UUID(request.match_info["printer_id"])
            target, caps = await api.target(target_id)
        except ValueError:
            raise IppError(Status.NOT_FOUND, "no such printer", message.request_id) from None
        except ApiError as exc:
            if exc.status == 401:
                return _unauthenticated(request, "the access token was refused")
            raise api_failure(exc, message.request_id) from None
        call = Call(
            message, api, transactions(request), user.principal.subject,
            user.principal.tenant_id, user.name, target, caps,
            _printer_uri(request, message, str(target_id)), _secure(request),
            request.app[STARTED], datetime.now(UTC),
            DocumentStream(first, request.content.iter_chunked(CHUNK)),
        )  # fmt: skip
        try:
            return _answer(await handler(call))
        except IppError as exc:
            return _error(version, exc, call.unsupported)
    except IppError as exc:
        return _error(exc.version or version, exc)
    except Exception:
        log.exception("IPP request failed")
        return _error(version, IppError(Status.INTERNAL_ERROR, "internal error"))
