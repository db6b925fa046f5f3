"""What every operation receives (:class:`Call`) and how answers are built."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from services.ipp.domain.model import Target
from services.ipp.protocol.codec import Attribute, Group, IppError, Message
from services.ipp.protocol.constants import Status, Tag
from services.ipp.repository import IppRepository
from services.ipp.upstream import ApiError, PrintcloudApi
from shared.db.uow import Transactions
from shared.printing.capabilities import Capabilities


class DocumentStream:
    """The document after the IPP header: octets already read, then the rest."""

    def __init__(self, first: bytes, rest: AsyncIterator[bytes]) -> None:
        self.first = first
        self.rest = rest
        self.size = 0

    async def peek(self, n: int) -> bytes:
        """At least ``n`` leading octets (fewer at the end of the document)."""
        while len(self.first) < n:
            try:
                chunk = await anext(self.rest)
            except StopAsyncIteration:
                break
            self.first += chunk
        return self.first[:n]

    async def chunks(self) -> AsyncIterator[bytes]:
        """The whole document, as it arrives."""
        if self.first:
            self.size += len(self.first)
            yield self.first
        async for chunk in self.rest:
            self.size += len(chunk)
            yield chunk


@dataclass
class Call:
    """One authenticated request to one printer URI."""

    request: Message
    api: PrintcloudApi
    tx: Transactions[IppRepository]
    owner_id: str
    tenant_id: uuid.UUID | None
    user_name: str
    target: Target
    caps: Capabilities
    printer_uri: str
    secure: bool
    started: datetime
    now: datetime
    document: DocumentStream
    unsupported: list[Attribute] = field(default_factory=list)

    @property
    def operation(self) -> Group:
        """The operation attributes group (checked to be first by the view)."""
        return self.request.groups[0]

    def op_value(self, name: str, tag: int | None = None) -> object:
        """The single value of operation attribute ``name`` (None when absent);
        bad-request when it has the wrong syntax or several values."""
        attr = self.operation.get(name)
        if attr is None:
            return None
        if len(attr.values) != 1 or (tag is not None and attr.tag != tag):
            raise IppError(Status.BAD_REQUEST, f"{name}: wrong syntax", self.request.request_id)
        return attr.first

    def requested(self) -> list[str] | None:
        """requested-attributes (keywords), None when absent."""
        attr = self.operation.get("requested-attributes")
        if attr is None:
            return None
        if any(v.tag != Tag.KEYWORD for v in attr.values):
            raise IppError(Status.BAD_REQUEST, "requested-attributes are keywords",
                           self.request.request_id)  # fmt: skip
        return [str(v.value) for v in attr.values]

    def job_uri(self, job_id: int) -> str:
        """The job's URI below its printer's."""
        return f"{self.printer_uri}/{job_id}"

    def answer(self, status: Status, message: str, *groups: Group) -> Message:
        """A response to this request (the unsupported group when anything was)."""
        return response(self.request.version, status, self.request.request_id, message,
                        self.unsupported, *groups)  # fmt: skip


def response(
    version: tuple[int, int],
    status: Status,
    request_id: int,
    message: str = "",
    unsupported: list[Attribute] | None = None,
    *groups: Group,
) -> Message:
    """A response message: operation attributes, unsupported attributes, then ``groups``."""
    op = Group(Tag.OPERATION, [
        Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
        Attribute.of("attributes-natural-language", Tag.LANGUAGE, "en"),
    ])  # fmt: skip
    if message:
        op.add(Attribute.of("status-message", Tag.TEXT, message[:255]))
    out = Message(version, status, request_id, [op])
    if unsupported:
        out.groups.append(Group(Tag.UNSUPPORTED_GROUP, list(unsupported)))
    out.groups.extend(groups)
    return out


def api_failure(exc: ApiError, request_id: int) -> IppError:
    """The IPP status of an API refusal that has no more specific meaning."""
    status = {
        401: Status.NOT_AUTHENTICATED, 403: Status.FORBIDDEN, 404: Status.NOT_FOUND,
        409: Status.NOT_POSSIBLE, 413: Status.REQUEST_ENTITY_TOO_LARGE,
        422: Status.ATTRIBUTES_OR_VALUES_NOT_SUPPORTED, 429: Status.SERVICE_UNAVAILABLE,
    }.get(exc.status, Status.SERVICE_UNAVAILABLE if exc.status in (0, 502, 503, 504)
          else Status.INTERNAL_ERROR)  # fmt: skip
    detail = exc.body.get("detail", "") if isinstance(exc.body, dict) else ""
    return IppError(status, str(detail or f"the platform answered {exc.status}"), request_id)
