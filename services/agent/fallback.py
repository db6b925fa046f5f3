"""When the registration request cannot reach the cloud: the sheet, output three ways.

Without anyone asking, the agent shows its signed registration sheet on its display
(``panel.json``, and its terminal), writes it to files in the state directory
(``registration-sheet.txt`` and ``registration-sheet.pdf``) and, when it fronts a
real printer, prints the PDF there. The sheet holds the communication information
(the cloud's address) and the start information (the device's key, kind, model and
claim code, signed by the key) as text and as a QR code; a phone or laptop relays it
(``printcloud phone relay``).
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.agent.onboarding import Say, sheet_lines, sheet_text
from services.agent.panel import PANEL_FILE, Panel
from services.agent.printers import (
    DeviceUnreachable,
    OutcomeUnknown,
    PrintRefused,
    PrintRequest,
)
from services.agent.printers.ipp import IppPrinter
from services.agent.state import StateDir, write_atomic
from shared.logging import get_logger
from shared.protocols.onboarding import Sheet

log = get_logger(__name__)
SHEET_TEXT = "registration-sheet.txt"
SHEET_PDF = "registration-sheet.pdf"
PAYLOAD_COLUMNS = 64
"""The payload is printed in lines of this many characters (relay ignores line breaks)."""


def sheet_pdf(sheet: Sheet) -> bytes:
    """The sheet as a one-page A4 PDF: the text, the QR code drawn as vector squares
    (crisp at any resolution) and the payload in wrapped monospace lines."""
    import qrcode  # type: ignore[import-untyped]
    from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    page.setTitle("Printcloud registration sheet")
    width, height = A4
    y = height - 25 * mm
    page.setFont("Helvetica-Bold", 16)
    title, *rest = sheet_lines(sheet)
    page.drawString(20 * mm, y, title)
    page.setFont("Courier", 10)
    for line in rest:
        y -= 5 * mm
        page.drawString(20 * mm, y, line)

    code = qrcode.QRCode(border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(sheet.payload())
    code.make(fit=True)
    matrix = code.get_matrix()  # the quiet zone (border) included
    side = 90 * mm
    cell = side / len(matrix)
    left, top = (width - side) / 2, y - 8 * mm
    for row, cells in enumerate(matrix):
        for col, dark in enumerate(cells):
            if dark:
                page.rect(left + col * cell, top - (row + 1) * cell, cell, cell, 0, 1)
    y = top - side - 8 * mm

    page.setFont("Courier", 8)
    payload = sheet.payload()
    for start in range(0, len(payload), PAYLOAD_COLUMNS):
        page.drawString(20 * mm, y, payload[start : start + PAYLOAD_COLUMNS])
        y -= 4 * mm
    page.showPage()
    page.save()
    return out.getvalue()


@dataclass
class SheetOutputs:
    """Shows, files and prints the sheet: what the agent does when the cloud is out of
    reach. A printer that cannot print the sheet does not stop the other two outputs."""

    state: StateDir
    say: Say
    printer_uri: str | None = None
    print_timeout: float = 60.0

    async def __call__(self, sheet: Sheet) -> None:
        text = sheet_text(sheet)
        pdf = self.state.root / SHEET_PDF
        write_atomic(self.state.root / SHEET_TEXT, text.encode(), 0o600)
        write_atomic(pdf, sheet_pdf(sheet), 0o600)
        self._display(sheet, pdf)
        self.say(text.rstrip("\n"))
        self.say(f"The sheet is in {self.state.root / SHEET_TEXT} and {pdf}.")
        if self.printer_uri:
            await self._print(pdf)

    def clear(self) -> None:
        """The device joined: the display no longer shows the sheet (the files stay)."""
        shown = self.state.read_json(PANEL_FILE)
        if shown is not None and shown.pop("registration", None) is not None:
            self.state.write_json(PANEL_FILE, shown)

    def _display(self, sheet: Sheet, pdf: Path) -> None:
        panel = Panel(self.state)
        panel.registration = {
            "qr_payload": sheet.payload(),
            "lines": sheet_lines(sheet),
            "pdf": str(pdf),
            "shown_at": datetime.now(UTC).isoformat(),
        }
        panel.save()

    async def _print(self, pdf: Path) -> None:
        printer = IppPrinter(self.printer_uri or "", timeout=self.print_timeout)
        job_id = uuid.uuid4()
        request = PrintRequest(job_id, pdf, "application/pdf", "Printcloud registration sheet")
        try:
            ref = await printer.submit(request)
        except (DeviceUnreachable, OutcomeUnknown, PrintRefused, OSError) as exc:
            log.warning("registration sheet not printed", printer=self.printer_uri, error=str(exc))
            self.say(f"Could not print the sheet on {self.printer_uri}: {exc}")
            return
        finally:
            await printer.close()
        log.info("registration sheet printed", printer=self.printer_uri, job_id=str(job_id))
        self.say(f"Printed the sheet on {self.printer_uri} ({ref}, job name {job_id}).")
