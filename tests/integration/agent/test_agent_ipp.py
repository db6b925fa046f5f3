"""The IPP bridge against real IPP Everywhere printers (Debian's ippeveprinter):
capabilities from the printer's own attributes, documents arriving byte for byte,
and no second copy after a crash, whichever side of the journal write it hit."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import UTC, datetime
from pathlib import Path

from services.agent.executor import Executor, Target
from services.agent.journal import Journal
from services.agent.printers import PrintRequest
from services.agent.printers.ipp import IppPrinter
from services.agent.state import StateDir
from shared.protocols.device import Command
from shared.testing.ipp import minimal_pdf, start_ippeveprinter, system_bus
from tests.support.agent import agent, gateway_for
from tests.support.waiting import eventually


def _print(job_id: uuid.UUID, document: bytes) -> dict[str, object]:
    return {
        "job_id": str(job_id),
        "document_b64": base64.b64encode(document).decode(),
        "document_format": "application/pdf",
        "title": "bridged",
    }


async def test_capabilities_come_from_the_printers_attributes(tmp_path: Path) -> None:
    with system_bus() as env:
        rich = start_ippeveprinter(env, tmp_path / "rich")
        plain = start_ippeveprinter(
            env, tmp_path / "plain", duplex=False, colour=False, formats="application/pdf"
        )
        try:
            seen = {}
            for name, printer in (("rich", rich), ("plain", plain)):
                state = tmp_path / f"state-{name}"
                async with gateway_for(state) as gw:
                    with agent(state, gw.url, "--mode", "ipp", "--printer-uri", printer.uri):
                        session = await gw.next_session()
                        frame = await session.wait_for(lambda f: f["type"] == "capabilities")
                        status = await session.wait_for(lambda f: f["type"] == "status")
                        assert status["state"] in ("idle", "processing"), status
                        seen[name] = frame["capabilities"]
        finally:
            rich.stop()
            plain.stop()
    caps = seen["rich"]
    # ippeveprinter adds application/octet-stream (it auto-types those documents).
    assert set(caps["document_format_supported"]) == {
        "application/octet-stream", "application/pdf", "image/jpeg", "image/pwg-raster",
    }  # fmt: skip
    assert {"iso_a4_210x297mm", "na_letter_8.5x11in"} <= set(caps["media_supported"])
    assert caps["media_default"] in caps["media_supported"]
    assert caps["sides_supported"] == [
        "one-sided", "two-sided-long-edge", "two-sided-short-edge",
    ]  # fmt: skip
    assert "color" in caps["print_color_mode_supported"]
    assert {"x": 600, "y": 600, "units": "dpi"} in caps["printer_resolution_supported"]
    assert caps["copies_supported"]["max"] > 1
    assert caps["media_type_supported"] and caps["media_source_supported"]
    assert caps["finishings_supported"] == ["none"]
    assert caps["page_ranges_supported"] is True
    # The other printer says less, and so does its report.
    assert "image/jpeg" not in seen["plain"]["document_format_supported"]
    assert "application/pdf" in seen["plain"]["document_format_supported"]
    assert seen["plain"]["sides_supported"] == ["one-sided"]
    assert "color" not in seen["plain"]["print_color_mode_supported"]


async def test_bridged_job_arrives_byte_for_byte_and_only_once(tmp_path: Path) -> None:
    state = tmp_path / "state"
    job_id, document = uuid.uuid4(), minimal_pdf("byte for byte") + bytes(range(256))
    with system_bus() as env:
        printer = start_ippeveprinter(env, tmp_path / "printer")
        try:
            args = ("--mode", "ipp", "--printer-uri", printer.uri)
            async with gateway_for(state) as gw:
                with agent(state, gw.url, *args) as first:
                    session = await gw.next_session()
                    cmd = await session.command("print_job", _print(job_id, document))
                    await session.wait_for(
                        lambda f: f["type"] == "job_status" and f["state"] == "completed"
                    )
                    first.kill()  # before the gateway takes the ack into account
                await eventually(lambda: len(printer.documents(job_id)) == 1)
                (kept,) = printer.documents(job_id)
                await eventually(lambda: kept.stat().st_size == len(document))
                assert kept.read_bytes() == document

                with agent(state, gw.url, *args):
                    session = await gw.next_session()
                    await session.command("print_job", _print(job_id, document), command_id=cmd)
                    assert (await session.ack(cmd))["outcome"] == "done"
                await asyncio.sleep(0.3)
                assert len(printer.documents(job_id)) == 1
        finally:
            printer.stop()


async def test_a_job_the_printer_took_before_a_crash_is_found_not_reprinted(
    tmp_path: Path,
) -> None:
    """The agent died after Print-Job and before journaling ``printed``: on the
    redelivered command it asks the printer (Get-Jobs) and finds the job by name."""
    job_id, document = uuid.uuid4(), minimal_pdf("once")
    command = Command(
        command_id=uuid.uuid4(), name="print_job", payload=_print(job_id, document),
        issued_at=datetime.now(UTC),
    )  # fmt: skip
    with system_bus() as env:
        process = start_ippeveprinter(env, tmp_path / "printer")
        printer = IppPrinter(process.uri, timeout=10, probe_timeout=3)
        state = StateDir(tmp_path / "state")
        journal = Journal(state.root / "journal.sqlite3")
        try:
            journal.begin_job(job_id, None, command.command_id)
            await printer.submit(PrintRequest(job_id, document, "application/pdf"))
            # ... and here the agent was killed. A new process with the same journal:
            target = Target(printer, printer_id=uuid.uuid4())
            executor = Executor(journal, state, lambda _: target, lambda: None)
            record = await executor.execute(command)
            assert record.outcome == "done", record
            assert "found after a restart" in record.detail
            job = journal.job(job_id)
            assert job is not None and job.state == "printed"
            await asyncio.sleep(0.3)
            assert len(process.documents(job_id)) == 1
        finally:
            journal.close()
            await printer.close()
            process.stop()
