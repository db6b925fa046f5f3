"""A simulated printer: "prints" by writing each document to ``<spool>/<job_id>.<ext>``.

The spool file is written atomically (temp file, fsync, rename, fsync directory)
under the job's id, so after a crash the agent finds out whether a job reached the
"paper" by looking for that file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
import uuid
from pathlib import Path

from services.agent.printers import (
    PrintCanceled,
    PrintRefused,
    PrintRequest,
    Probe,
    SettingValue,
)
from services.agent.state import copy_atomic, write_atomic
from shared.logging import get_logger
from shared.printing.capabilities import Capabilities, CopiesRange, Resolution
from shared.testing.documents import pdf

log = get_logger(__name__)

_EXTENSIONS = {
    "application/pdf": "pdf",
    "image/pwg-raster": "pwg",
    "image/urf": "urf",
    "image/jpeg": "jpg",
    "application/postscript": "ps",
    "text/plain": "txt",
}

DEFAULT_CAPABILITIES = Capabilities(
    document_format_supported=["application/pdf", "image/pwg-raster", "image/jpeg"],
    media_supported=["iso_a4_210x297mm", "na_letter_8.5x11in"],
    media_default="iso_a4_210x297mm",
    media_type_supported=["stationery", "stationery-recycled", "labels", "envelope"],
    media_source_supported=["auto", "tray-1", "manual"],
    output_bin_supported=["face-down"],
    sides_supported=["one-sided", "two-sided-long-edge", "two-sided-short-edge"],
    print_color_mode_supported=["auto", "color", "monochrome"],
    printer_resolution_supported=[Resolution(x=300, y=300), Resolution(x=600, y=600)],
    finishings_supported=["none"],
    copies_supported=CopiesRange(max=99),
    page_ranges_supported=True,
)


def extension(document_format: str) -> str:
    """The spool file's extension for a MIME media type (``bin`` when unknown)."""
    known = _EXTENSIONS.get(document_format) or mimetypes.guess_extension(document_format)
    return (known or "bin").lstrip(".")


def load_capabilities(path: Path | None) -> Capabilities:
    """The capabilities in a JSON file, or the simulator's realistic default."""
    if path is None:
        return DEFAULT_CAPABILITIES
    return Capabilities.model_validate(json.loads(path.read_text()))


class SimulatedPrinter:
    """A printer whose paper is a spool directory."""

    def __init__(self, spool: Path, capabilities: Capabilities, print_seconds: float = 0.0) -> None:
        self.spool = spool
        self.capabilities = capabilities
        self.print_seconds = print_seconds
        self._printing: dict[uuid.UUID, asyncio.Event] = {}
        spool.mkdir(parents=True, exist_ok=True)

    @property
    def address(self) -> str:
        return str(self.spool)

    async def probe(self) -> Probe:
        return Probe(self.capabilities)

    async def scan(self) -> tuple[bytes, str]:
        """A scanned page (a one-page PDF naming a fresh token) and its format; a copy is
        kept in ``scans/`` beside the spool, as a real scanner's would be on its glass."""
        token = f"scan-{uuid.uuid4().hex}"
        page = pdf(1, f"Printcloud {token}")
        folder = self.spool.parent / "scans"
        await asyncio.to_thread(folder.mkdir, 0o700, True, True)
        await asyncio.to_thread((folder / f"{token}.pdf").write_bytes, page)
        return page, "application/pdf"

    async def find_job(self, job_id: uuid.UUID) -> str | None:
        found = sorted(self.spool.glob(f"{job_id}.*"))
        return found[0].name if found else None

    async def submit(self, request: PrintRequest) -> str:
        if request.document_format not in self.capabilities.document_format_supported:
            raise PrintRefused(
                f"document-format {request.document_format} is not supported; supported: "
                + ", ".join(self.capabilities.document_format_supported)
            )
        copies = request.settings.copies if request.settings else request.copies
        if not 1 <= copies <= self.capabilities.copies_supported.max:
            raise PrintRefused(
                f"copies must be 1..{self.capabilities.copies_supported.max}, not {copies}"
            )
        if request.settings is not None:
            await asyncio.to_thread(self._write_ticket, request)
        canceled = self._printing[request.job_id] = asyncio.Event()
        try:
            if self.print_seconds:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(canceled.wait(), self.print_seconds)
            if canceled.is_set():
                raise PrintCanceled(f"job {request.job_id} canceled while printing")
            name = f"{request.job_id}.{extension(request.document_format)}"
            path = self.spool / name
            if isinstance(request.document, bytes):
                await asyncio.to_thread(write_atomic, path, request.document, 0o644)
            else:
                await asyncio.to_thread(copy_atomic, request.document, path, 0o644)
        finally:
            del self._printing[request.job_id]
        log.info("simulated print", job_id=str(request.job_id), file=name)
        return name

    def _write_ticket(self, request: PrintRequest) -> None:
        assert request.settings is not None
        tickets = self.spool / ".tickets"
        tickets.mkdir(exist_ok=True)
        ticket = {
            "job_id": str(request.job_id),
            "title": request.title,
            "document_format": request.document_format,
            "settings": request.settings.model_dump(mode="json"),
        }
        write_atomic(tickets / f"{request.job_id}.json", json.dumps(ticket).encode(), 0o644)

    async def cancel(self, job_id: uuid.UUID) -> bool:
        canceled = self._printing.get(job_id)
        if canceled is None:
            return False
        canceled.set()
        return True

    async def identify(self) -> None:
        log.info("identify: the simulated printer waves")

    async def set_attributes(self, attributes: dict[str, SettingValue]) -> None:
        log.info("settings: the simulated printer takes them", names=sorted(attributes))

    async def close(self) -> None:
        return None
