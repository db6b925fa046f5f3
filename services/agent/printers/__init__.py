"""Printers the agent prints on: a simulator, or a real printer over IPP.

Every printer answers the same questions (what can you do, in what state are you,
do you already have this job) and takes a document; a connector holds one per
bridged printer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal, Protocol

from shared.printing.capabilities import Capabilities

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


@dataclass(frozen=True)
class Probe:
    """What a reachable printer reported about itself."""

    capabilities: Capabilities
    state: PrinterState = "idle"
    reasons: list[str] = field(default_factory=list)
    message: str = ""


@dataclass(frozen=True)
class PrintRequest:
    """One document to print; ``job_id`` names the job on the printer, too."""

    job_id: uuid.UUID
    document: bytes
    document_format: str
    title: str = ""
    copies: int = 1


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

    async def close(self) -> None:
        """Release connections."""
        ...
