"""Printers the agent prints on: a simulator, or a real printer over IPP.

Every printer answers the same questions (what can you do, in what state are you,
do you already have this job) and takes a document; a connector holds one per
bridged printer.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings

PrinterState = Literal["idle", "processing", "stopped"]


class DeviceUnreachable(Exception):
    """The printer could not be reached: it certainly did not get the request."""

    def __init__(self, uri: str) -> None:
        super().__init__(f"device unreachable: {uri}")
        self.uri = uri


class OutcomeUnknown(Exception):
    """The request went out but no answer came back: the printer may have the job."""


class PrintRefused(Exception):
    """The printer answered and refused the job (the message says why)."""


class Unsupported(Exception):
    """The printer cannot do what was asked (e.g. it takes no settings): retrying will
    not help (the message says why)."""


SettingValue = str | int | bool


class PrintCanceled(Exception):
    """The job was canceled while it was being handed to the printer."""


@dataclass(frozen=True)
class Probe:
    """What a reachable printer reported about itself."""

    capabilities: Capabilities
    state: PrinterState = "idle"
    reasons: list[str] = field(default_factory=list)
    message: str = ""


CHUNK = 64 * 1024


@dataclass(frozen=True)
class PrintRequest:
    """One document to print; ``job_id`` names the job on the printer, too.

    ``document`` is the content, or a file holding it (read in chunks, never whole);
    ``settings`` are the job's settings when the cloud sent them (``copies`` then
    equals ``settings.copies``).
    """

    job_id: uuid.UUID
    document: bytes | Path
    document_format: str
    title: str = ""
    copies: int = 1
    settings: JobSettings | None = None

    async def chunks(self, size: int = CHUNK) -> AsyncIterator[bytes]:
        """The document, piece by piece."""
        if isinstance(self.document, bytes):
            yield self.document
            return
        with self.document.open("rb") as fh:
            while chunk := await asyncio.to_thread(fh.read, size):
                yield chunk


class Printer(Protocol):
    """A printer the agent can probe and print on."""

    @property
    def address(self) -> str:
        """Where the printer is (a URI or a directory), for logs and error details."""
        ...

    async def probe(self) -> Probe:
        """Capabilities and state; DeviceUnreachable when it does not answer."""
        ...

    async def find_job(self, job_id: uuid.UUID) -> str | None:
        """The printer's reference of job ``job_id`` if it already has it, else None."""
        ...

    async def submit(self, request: PrintRequest) -> str:
        """Hand the document over; the printer's reference of the new job."""
        ...

    async def identify(self) -> None:
        """Make the printer show itself (a beep, a flash, a message)."""
        ...

    async def set_attributes(self, attributes: dict[str, SettingValue]) -> None:
        """Change printer settings (IPP Set-Printer-Attributes); Unsupported when the
        printer cannot, PrintRefused when it refuses the values."""
        ...

    async def cancel(self, job_id: uuid.UUID) -> bool:
        """Cancel job ``job_id`` at the printer if it has it unfinished; whether it did."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
