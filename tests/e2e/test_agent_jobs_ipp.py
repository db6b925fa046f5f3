"""A job's settings reach a real IPP Everywhere printer (ippeveprinter) as job attributes,
with the document streamed from disk and arriving byte for byte."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from pyipp.enums import IppOperation

from services.agent.printers import PrintRequest
from services.agent.printers.ipp import IppPrinter
from shared.printing.settings import JobSettings, PageRange
from shared.testing.ipp import minimal_pdf, start_ippeveprinter, system_bus
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


async def test_settings_become_ipp_job_attributes(tmp_path: Path) -> None:
    job_id = uuid.uuid4()
    document = minimal_pdf("settings") + bytes(range(256)) * 400
    source = tmp_path / "document.pdf"
    source.write_bytes(document)
    settings = JobSettings(
        copies=2, sides="two-sided-long-edge", media="iso_a4_210x297mm",
        print_color_mode="monochrome", orientation="landscape",
        page_ranges=[PageRange(first=1, last=1)],
    )  # fmt: skip
    with system_bus() as env:
        printer = start_ippeveprinter(env, tmp_path / "printer")
        bridge = IppPrinter(printer.uri, timeout=30)
        try:
            request = PrintRequest(
                job_id, source, "application/pdf", "Settings", settings.copies, settings
            )
            ref = await bridge.submit(request)
            ipp_job = int(ref.removeprefix("job-id "))
            answer = await bridge._execute(
                IppOperation.GET_JOB_ATTRIBUTES,
                {"operation-attributes-tag": {"job-id": ipp_job,
                                              "requested-attributes": ["all"]}},
                10,
            )  # fmt: skip
            job = (answer.get("jobs") or [{}])[0]
            assert job.get("job-name") == str(job_id)
            assert job.get("copies") == 2
            assert job.get("sides") == "two-sided-long-edge"
            assert job.get("print-color-mode") == "monochrome"
            assert job.get("media") == "iso_a4_210x297mm"
            assert job.get("orientation-requested") == 4
            assert "page-ranges" in job
            await eventually(lambda: len(printer.documents(job_id)) == 1)
            (kept,) = printer.documents(job_id)
            await eventually(lambda: kept.stat().st_size == len(document))
            assert kept.read_bytes() == document
        finally:
            await bridge.close()
            printer.stop()
