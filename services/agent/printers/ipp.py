"""A real printer over IPP (RFC 8011), through the ``pyipp`` client.

Capabilities come from the printer's own Get-Printer-Attributes; a job goes out
as Print-Job with ``job-name`` set to the Printcloud job id, which is how the
agent finds it again (Get-Jobs) after a crash between the printer accepting the
job and the journal recording it.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import aiohttp
from pyipp import IPP
from pyipp.enums import IppOperation, IppStatus
from pyipp.exceptions import IPPConnectionError, IPPError, IPPParseError, IPPResponseError

from services.agent.printers import (
    DeviceUnreachable,
    OutcomeUnknown,
    PrintRefused,
    PrintRequest,
    Probe,
)
from services.agent.printers.attributes import REQUESTED, probe_from_attributes
from shared.logging import get_logger

log = get_logger(__name__)
USER = "printcloud"


def _status_name(exc: IPPError) -> str:
    details = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    code = details.get("status-code")
    if not isinstance(code, int):
        return str(exc)
    try:
        return IppStatus(code).name.lower().replace("_", "-")
    except ValueError:
        return f"status 0x{code:04x}"


def _never_connected(exc: IPPConnectionError) -> bool:
    return isinstance(exc.__cause__, aiohttp.ClientConnectorError)


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

    def _client(self, timeout: float) -> IPP:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return IPP(self.uri, session=self._session, request_timeout=max(1, math.ceil(timeout)))

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
            "job-name": str(request.job_id),
            "document-format": request.document_format,
        }
        if request.title:
            operation["document-name"] = request.title[:255]
        message: dict[str, Any] = {"operation-attributes-tag": operation, "data": request.document}
        if request.copies > 1:
            message["job-attributes-tag"] = {"copies": request.copies}
        try:
            response = await self._execute(IppOperation.PRINT_JOB, message, self.timeout)
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

    async def identify(self) -> None:
        try:
            await self._execute(IppOperation.IDENTIFY_PRINTER, {}, self.probe_timeout)
        except IPPError as exc:
            log.info("the printer does not identify itself", uri=self.uri, error=str(exc))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
