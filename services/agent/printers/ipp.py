"""A real printer over IPP (RFC 8011), through the ``pyipp`` client.

Capabilities come from the printer's own Get-Printer-Attributes; a job goes out
as Print-Job with ``job-name`` set to the Printcloud job id, which is how the
agent finds it again (Get-Jobs) after a crash between the printer accepting the
job and the journal recording it.

Print-Job is encoded with pyipp's serializer but its body is streamed (HTTP
chunked): the request header and attributes, then the document read from disk
in chunks. The job's settings become job template attributes: ``copies``,
``sides``, ``orientation-requested`` through pyipp's own attribute table;
``media``, ``print-color-mode``, ``page-ranges``, ``printer-resolution`` and
``multiple-document-handling`` (for ``collate``) are encoded here with their IPP
syntax, because pyipp either does not know them or tags them otherwise (it sends
``media`` as a name, not a keyword). ``finishings`` are not sent (pyipp has no
encoder for its keyword-to-enum mapping): a job asking for finishings prints
without them.
"""

from __future__ import annotations

import asyncio
import math
import struct
import time
import uuid
from collections.abc import AsyncIterator
from struct import error as StructError
from typing import Any

import aiohttp
from pyipp import IPP
from pyipp.enums import IppOperation, IppStatus, IppTag
from pyipp.exceptions import IPPConnectionError, IPPError, IPPParseError, IPPResponseError
from pyipp.parser import parse as parse_response
from pyipp.serializer import construct_attribute, encode_dict

from services.agent.printers import (
    DeviceUnreachable,
    OutcomeUnknown,
    PrintRefused,
    PrintRequest,
    Probe,
    SettingValue,
    Unsupported,
)
from services.agent.printers.attributes import REQUESTED, probe_from_attributes
from shared.logging import get_logger
from shared.printing.settings import JobSettings

log = get_logger(__name__)
USER = "printcloud"
BUSY_FIRST_PAUSE_S = 0.2
BUSY_MAX_PAUSE_S = 5.0


def _status_code(exc: IPPError) -> int | None:
    details = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    code = details.get("status-code")
    return code if isinstance(code, int) else None


def _status_name(exc: IPPError) -> str:
    code = _status_code(exc)
    return str(exc) if code is None else _code_name(code)


def _code_name(code: int) -> str:
    try:
        return IppStatus(code).name.lower().replace("_", "-")
    except ValueError:
        return f"status 0x{code:04x}"


UNSUPPORTED_SETTINGS = {
    IppStatus.ERROR_OPERATION_NOT_SUPPORTED,
    IppStatus.ERROR_ATTRIBUTES_OR_VALUES,
    IppStatus.ERROR_ATTRIBUTES_NOT_SETTABLE,
}
"""Answers to Set-Printer-Attributes meaning the printer cannot take the settings."""
TEXT_SETTINGS = {"printer-info", "printer-location", "printer-organization",
                 "printer-organizational-unit", "printer-name"}  # fmt: skip


def _setting_tag(name: str, value: SettingValue) -> IppTag:
    """The IPP syntax of a setting: text for descriptions, else by the value's type."""
    if isinstance(value, bool):
        return IppTag.BOOLEAN
    if isinstance(value, int):
        return IppTag.INTEGER
    return IppTag.TEXT if name in TEXT_SETTINGS else IppTag.KEYWORD


def _never_connected(exc: IPPConnectionError) -> bool:
    return isinstance(exc.__cause__, aiohttp.ClientConnectorError)


ORIENTATIONS = {"portrait": 3, "landscape": 4, "reverse-landscape": 5, "reverse-portrait": 6}
_UNITS = {"dpi": 3, "dpcm": 4}


def _values(tag: IppTag, name: str, values: list[bytes]) -> bytes:
    """One attribute of ``tag`` with raw values (the name only on the first)."""
    out = b""
    for i, value in enumerate(values):
        label = name.encode() if i == 0 else b""
        out += struct.pack(">bh", tag.value, len(label)) + label
        out += struct.pack(">h", len(value)) + value
    return out


def job_attributes(settings: JobSettings | None, copies: int) -> tuple[dict[str, Any], bytes]:
    """Job template attributes: those pyipp encodes itself, and the rest already encoded."""
    known: dict[str, Any] = {}
    extra = b""
    if settings is None:
        if copies > 1:
            known["copies"] = copies
        return known, extra
    if settings.copies > 1:
        known["copies"] = settings.copies
    if settings.sides:
        known["sides"] = settings.sides
    if settings.orientation:
        known["orientation-requested"] = ORIENTATIONS[settings.orientation]
    if settings.media:
        extra += construct_attribute("media", settings.media, IppTag.KEYWORD)
    if settings.print_color_mode:
        extra += construct_attribute("print-color-mode", settings.print_color_mode, IppTag.KEYWORD)
    if settings.page_ranges:
        ranges = [struct.pack(">ii", r.first, r.last) for r in settings.page_ranges]
        extra += _values(IppTag.RANGE, "page-ranges", ranges)
    if settings.printer_resolution:
        res = settings.printer_resolution
        value = struct.pack(">iib", res.x, res.y, _UNITS.get(res.units, 3))
        extra += _values(IppTag.RESOLUTION, "printer-resolution", [value])
    if settings.copies > 1 and not settings.collate:
        extra += construct_attribute(
            "multiple-document-handling", "separate-documents-uncollated-copies", IppTag.KEYWORD
        )
    return known, extra


class _StreamingIPP(IPP):
    """pyipp's client, with a Print-Job whose document is streamed, not held in memory."""

    async def print_job(
        self, message: dict[str, Any], extra: bytes, document: AsyncIterator[bytes]
    ) -> dict[str, Any]:
        encoded = encode_dict(self._message(IppOperation.PRINT_JOB, message))
        # The encoding ends with the end-of-attributes tag: the extra job attributes
        # go just before it, in the job group the message opened.
        head = encoded[:-1] + extra + bytes([IppTag.END.value])

        async def body() -> AsyncIterator[bytes]:
            yield head
            async for chunk in document:
                yield chunk

        raw = await self._request(data=body())
        try:
            parsed: dict[str, Any] = parse_response(raw)
        except (StructError, Exception) as exc:
            raise IPPParseError from exc
        if parsed["status-code"] not in range(0x200):
            raise IPPError("Unexpected printer status code", {"status-code": parsed["status-code"]})
        return parsed


class IppPrinter:
    """One IPP printer at ``uri`` (``ipp://host:port/path`` or ``ipps://...``)."""

    def __init__(self, uri: str, timeout: float = 30.0, probe_timeout: float = 5.0) -> None:
        if not uri.startswith(("ipp://", "ipps://")):
            raise ValueError(f"not an IPP printer URI: {uri}")
        self.uri = uri
        self.timeout = timeout
        self.probe_timeout = probe_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def address(self) -> str:
        return self.uri

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    def _client(self, timeout: float) -> IPP:
        return IPP(self.uri, session=self._http(), request_timeout=max(1, math.ceil(timeout)))

    async def _execute(
        self, operation: IppOperation, message: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        base = {"operation-attributes-tag": {"requesting-user-name": USER}}
        base["operation-attributes-tag"].update(message.pop("operation-attributes-tag", {}))
        return await self._client(timeout).execute(operation, {**base, **message})

    async def attributes(self) -> dict[str, Any]:
        """The printer's description attributes that Printcloud maps."""
        try:
            response = await self._get_attributes(REQUESTED)
        except IPPParseError:
            # The client cannot decode some finishings enum values; the template
            # keywords (PWG 5100.1) say the same thing in words.
            log.warning("finishings-supported unreadable, using finishing templates", uri=self.uri)
            response = await self._get_attributes(
                [a for a in REQUESTED if a != "finishings-supported"]
            )
        printers = response.get("printers") or [{}]
        attrs: dict[str, Any] = printers[0]
        return attrs

    async def _get_attributes(self, requested: list[str]) -> dict[str, Any]:
        try:
            return await self._execute(
                IppOperation.GET_PRINTER_ATTRIBUTES,
                {"operation-attributes-tag": {"requested-attributes": requested}},
                self.probe_timeout,
            )
        except IPPParseError:
            raise
        except IPPError as exc:
            raise DeviceUnreachable(self.uri) from exc

    async def probe(self) -> Probe:
        try:
            return probe_from_attributes(await self.attributes())
        except IPPParseError as exc:
            raise DeviceUnreachable(self.uri) from exc

    async def find_job(self, job_id: uuid.UUID) -> str | None:
        try:
            response = await self._execute(
                IppOperation.GET_JOBS,
                {
                    "operation-attributes-tag": {
                        "which-jobs": "all",
                        "requested-attributes": ["job-id", "job-name", "job-state"],
                    }
                },
                self.timeout,
            )
        except (IPPConnectionError, IPPResponseError, IPPParseError) as exc:
            raise DeviceUnreachable(self.uri) from exc
        for job in response.get("jobs") or []:
            if job.get("job-name") == str(job_id):
                return f"job-id {job.get('job-id')}"
        return None

    async def submit(self, request: PrintRequest) -> str:
        operation: dict[str, Any] = {
            "requesting-user-name": USER,
            "job-name": str(request.job_id),
            "document-format": request.document_format,
        }
        if request.title:
            operation["document-name"] = request.title[:255]
        known, extra = job_attributes(request.settings, request.copies)
        message = {"operation-attributes-tag": operation, "job-attributes-tag": known}
        client = _StreamingIPP(
            self.uri, session=self._http(), request_timeout=max(1, math.ceil(self.timeout))
        )
        # A busy printer (still processing the previous job, as many accept one at a
        # time) took nothing: ask again, for as long as a Print-Job may take.
        give_up, pause = time.monotonic() + self.timeout, BUSY_FIRST_PAUSE_S
        try:
            while True:
                try:
                    response = await client.print_job(message, extra, request.chunks())
                    break
                except IPPError as exc:
                    if _status_code(exc) != IppStatus.ERROR_BUSY or time.monotonic() >= give_up:
                        raise
                log.info("printer busy, asking again", uri=self.uri, job_id=str(request.job_id))
                await asyncio.sleep(pause)
                pause = min(pause * 2, BUSY_MAX_PAUSE_S)
        except IPPConnectionError as exc:
            if _never_connected(exc):
                raise DeviceUnreachable(self.uri) from exc
            raise OutcomeUnknown(f"no answer from {self.uri} to Print-Job") from exc
        except IPPResponseError as exc:
            raise PrintRefused(f"{self.uri} answered {exc.args[0]}") from exc
        except IPPParseError as exc:
            raise OutcomeUnknown(f"unreadable answer from {self.uri} to Print-Job") from exc
        except IPPError as exc:
            raise PrintRefused(f"the printer refused the job: {_status_name(exc)}") from exc
        jobs = response.get("jobs") or [{}]
        return f"job-id {jobs[0].get('job-id')}"

    async def set_attributes(self, attributes: dict[str, SettingValue]) -> None:
        client = self._client(self.probe_timeout)
        message = client._message(
            IppOperation.SET_PRINTER_ATTRIBUTES,
            {"operation-attributes-tag": {"requesting-user-name": USER}},
        )
        encoded = encode_dict(message)
        group = bytes([IppTag.PRINTER.value]) + b"".join(
            construct_attribute(name, value, _setting_tag(name, value))
            for name, value in attributes.items()
        )
        try:
            raw = await client._request(data=encoded[:-1] + group + bytes([IppTag.END.value]))
            code = int(parse_response(raw)["status-code"])
        except IPPConnectionError as exc:
            raise DeviceUnreachable(self.uri) from exc
        except (StructError, KeyError, ValueError, IPPError) as exc:
            what = f"unreadable answer from {self.uri} to Set-Printer-Attributes"
            raise PrintRefused(what) from exc
        if code < 0x200:
            return
        name = _code_name(code)
        if code in UNSUPPORTED_SETTINGS:
            raise Unsupported(f"the printer does not take these settings: {name}")
        raise PrintRefused(f"the printer refused the settings: {name}")

    async def cancel(self, job_id: uuid.UUID) -> bool:
        try:
            response = await self._execute(
                IppOperation.GET_JOBS,
                {
                    "operation-attributes-tag": {
                        "which-jobs": "not-completed",
                        "requested-attributes": ["job-id", "job-name"],
                    }
                },
                self.probe_timeout,
            )
            ids = [
                j.get("job-id")
                for j in response.get("jobs") or []
                if j.get("job-name") == str(job_id)
            ]
            for ipp_id in ids:
                await self._execute(
                    IppOperation.CANCEL_JOB,
                    {"operation-attributes-tag": {"job-id": ipp_id}},
                    self.probe_timeout,
                )
        except IPPError as exc:
            log.info("the printer did not cancel the job", uri=self.uri, error=str(exc))
            return False
        return bool(ids)

    async def identify(self) -> None:
        try:
            await self._execute(IppOperation.IDENTIFY_PRINTER, {}, self.probe_timeout)
        except IPPError as exc:
            log.info("the printer does not identify itself", uri=self.uri, error=str(exc))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
