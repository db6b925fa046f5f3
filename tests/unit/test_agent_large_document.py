"""A large document goes from its downloaded file to the simulator's spool, its pages
counted on the way, in bounded memory: the file is read in chunks, never whole."""

from __future__ import annotations

import tracemalloc
import uuid
from pathlib import Path

from services.agent.journal import Journal
from services.agent.printers import PrintRequest
from services.agent.printers.simulator import DEFAULT_CAPABILITIES, SimulatedPrinter
from services.agent.telemetry import TallySource, Telemetry

SIZE = 200 * 1024 * 1024
MIB = 1024 * 1024


def _large_pdf(path: Path, pages: int) -> None:
    """``SIZE`` bytes; each page object straddles a 1 MiB boundary."""
    with path.open("wb") as fh:
        fh.write(b"%PDF-1.4\n1 0 obj<</Type /Pages /Count 6>>endobj\n")
        for i in range(1, pages + 1):
            fh.seek(i * 32 * MIB - 5)
            fh.write(b"/Type /Page>>")
        fh.truncate(SIZE)


async def test_a_200_mb_document_prints_in_bounded_memory(tmp_path: Path) -> None:
    document = tmp_path / "large.pdf"
    _large_pdf(document, 6)
    journal = Journal(tmp_path / "journal.sqlite3")
    telemetry = Telemetry(journal, lambda: None, tmp_path)
    printer = telemetry.counting(
        SimulatedPrinter(tmp_path / "spool", DEFAULT_CAPABILITIES), keep_counters=True
    )
    assert printer.tally is not None
    job_id = uuid.uuid4()
    tracemalloc.start()
    try:
        name = await printer.submit(PrintRequest(job_id, document, "application/pdf"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    spooled = tmp_path / "spool" / name
    try:
        assert name == f"{job_id}.pdf" and spooled.stat().st_size == SIZE
        with spooled.open("rb") as fh:
            fh.seek(32 * MIB - 5)
            assert fh.read(13) == b"/Type /Page>>"
        counters = {c.name: c.value for c in await TallySource(printer.tally).counters()}
        assert counters["total"] == 6  # the page tree (/Type /Pages) is no page
        assert peak < 32 * MIB, f"peak {peak / MIB:.1f} MiB"
    finally:
        spooled.unlink(missing_ok=True)
        journal.close()
