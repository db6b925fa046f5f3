"""A simulated printer: "prints" by writing each document to ``<spool>/<job_id>.<ext>``.

The spool file is written atomically (temp file, fsync, rename, fsync directory)
under the job's id, so after a crash the agent finds out whether a job reached the
"paper" by looking for that file.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import uuid
from pathlib import Path

from services.agent.printers import PrintRefused, PrintRequest, Probe
from services.agent.state import write_atomic
from shared.logging import get_logger
from shared.printing.capabilities import Capabilities, CopiesRange, Resolution

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
        spool.mkdir(parents=True, exist_ok=True)

    @property
    def address(self) -> str:
        return str(self.spool)

    async def probe(self) -> Probe:
        return Probe(self.capabilities)

    async def find_job(self, job_id: uuid.UUID) -> str | None:
        found = sorted(self.spool.glob(f"{job_id}.*"))
        return found[0].name if found else None

    async def submit(self, request: PrintRequest) -> str:
        if request.document_format not in self.capabilities.document_format_supported:
            raise PrintRefused(
                f"document-format {request.document_format} is not supported; supported: "
                + ", ".join(self.capabilities.document_format_supported)
            )
        if not 1 <= request.copies <= self.capabilities.copies_supported.max:
            raise PrintRefused(
                f"copies must be 1..{self.capabilities.copies_supported.max}, not {request.copies}"
            )
        if self.print_seconds:
            await asyncio.sleep(self.print_seconds)
        name = f"{request.job_id}.{extension(request.document_format)}"
        await asyncio.to_thread(write_atomic, self.spool / name, request.document, 0o644)
        log.info("simulated print", job_id=str(request.job_id), file=name)
        return name

    async def identify(self) -> None:
        log.info("identify: the simulated printer waves")

    async def close(self) -> None:
        return None
