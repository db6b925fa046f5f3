"""Counter readings from the device side: the agent (a real process, and its reader
against the real simulator) reports only consistent readings, re-reading when a job
ran during the read; the real gateway validates counters/supplies frames and the
counters service keeps what they report."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import aiohttp
import pytest

from services.agent.journal import Journal
from services.agent.printers import PrintRequest
from services.agent.printers.simulator import DEFAULT_CAPABILITIES, SimulatedPrinter
from services.agent.telemetry import TallySource, Telemetry, read_consistent
from shared.events.contracts.gateway import CounterValue
from shared.testing.fixtures import ServiceDbFactory
from tests.support.agent import agent, gateway_for
from tests.support.counters import counters_app
from tests.support.device import next_frame
from tests.support.gateway import Rig
from tests.support.kafka import envelopes

pytestmark = pytest.mark.integration
PDF = (b"%PDF-1.4\n1 0 obj<</Type /Pages /Count 3>>endobj\n2 0 obj<</Type /Page>>endobj\n"
       b"3 0 obj<</Type /Page>>endobj\n4 0 obj<</Type /Page>>endobj\n%%EOF\n")  # fmt: skip


async def test_a_job_run_during_the_read_forces_a_reread(tmp_path: Path) -> None:
    telemetry = Telemetry(Journal(tmp_path / "journal.sqlite3"), lambda: None, tmp_path)
    printer = telemetry.counting(
        SimulatedPrinter(tmp_path / "spool", DEFAULT_CAPABILITIES), keep_counters=True
    )
    assert printer.tally is not None
    source = TallySource(printer.tally)
    reads = 0

    class JobDuringRead(TallySource):
        async def counters(self) -> list[CounterValue]:
            nonlocal reads
            reads += 1
            values = await source.counters()  # read before the job printed...
            if reads == 1:  # ... and a job runs between the two sequence reads
                await printer.submit(PrintRequest(uuid.uuid4(), PDF, "application/pdf"))
            return values

    reading, attempts = await read_consistent(JobDuringRead(printer.tally), 5, 0.01)
    assert reading is not None and attempts == reads == 2
    assert reading.attempts == 2 and reading.activity == 2  # started + finished
    assert {c.name: c.value for c in reading.counters}["total"] == 3

    class AlwaysBusy(TallySource):
        async def counters(self) -> list[CounterValue]:
            await printer.submit(PrintRequest(uuid.uuid4(), PDF, "application/pdf"))
            return await source.counters()

    reading, attempts = await read_consistent(AlwaysBusy(printer.tally), 3, 0.01)
    assert reading is None and attempts == 3  # never consistent: nothing to report


async def test_the_agent_reports_consistent_readings_and_after_each_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRINTCLOUD_AGENT_TELEMETRY_INTERVAL_S", "600")
    monkeypatch.setenv("PRINTCLOUD_AGENT_TELEMETRY_AFTER_JOB_S", "0.1")
    state, spool = tmp_path / "state", tmp_path / "spool"
    async with gateway_for(state) as gw:
        with agent(state, gw.url, "--mode", "simulator", "--spool", str(spool)):
            session = await gw.next_session()
            first = await session.wait_for(lambda f: f["type"] == "counters")
            assert first["activity_before"] == first["activity_after"]
            assert {c["name"]: c["value"] for c in first["counters"]}["total"] == 0
            supplies = await session.wait_for(lambda f: f["type"] == "supplies")
            assert supplies["supplies"][0]["kind"] == "toner"

            job = {"job_id": str(uuid.uuid4()), "document_format": "application/pdf",
                   "document_b64": base64.b64encode(PDF).decode(), "title": "t"}  # fmt: skip
            await session.ack(await session.command("print_job", job))
            after = await session.wait_for(
                lambda f: f["type"] == "counters" and f["reading_id"] != first["reading_id"]
            )
            values = {c["name"]: c["value"] for c in after["counters"]}
            assert values["total"] == 3 and values["mono"] == 3 and values["colour"] == 0
            assert after["activity_before"] == after["activity_after"] >= 2
    counters_file = json.loads((state / "counters.json").read_text())
    assert counters_file["total"] == 3


async def test_gateway_validates_and_publishes_readings_the_service_keeps(
    rig: Rig,
    service_db: ServiceDbFactory,
) -> None:
    device = await rig.printer_device()
    async with counters_app(service_db, rig.bootstrap) as counters:
        async with aiohttp.ClientSession() as http:
            ws, welcome = await device.connect(http, rig.ws_url)
            assert welcome["type"] == "welcome"
            bad = [
                {"type": "counters", "reading_id": str(uuid.uuid4()), "counters": [],
                 "activity_before": 1, "activity_after": 1},
                {"type": "counters", "reading_id": str(uuid.uuid4()),
                 "counters": [{"name": "total", "value": -1}],
                 "activity_before": 1, "activity_after": 1},
                {"type": "counters", "reading_id": "x", "counters": [{"name": "total", "value": 1}],
                 "activity_before": 1, "activity_after": 1},
                {"type": "supplies", "supplies": [{"kind": "toner", "level_percent": 101}]},
                {"type": "supplies", "supplies": [{"kind": "toner", "level_percent": 5}],
                 "device_id": str(uuid.uuid4())},
            ]  # fmt: skip
            for frame in bad:
                await ws.send_json(frame)
                error = await next_frame(ws, "error")
                assert error["fatal"] is False and error["in_reply_to"] in ("counters", "supplies")
            reading_id = uuid.uuid4()
            await ws.send_json({
                "type": "counters", "reading_id": str(reading_id),
                "counters": [{"name": "total", "value": 1234},
                             {"name": "media", "media": "iso_a4_210x297mm", "value": 1000}],
                "activity_before": 41, "activity_after": 41, "attempts": 2,
            })  # fmt: skip
            await ws.send_json({"type": "supplies", "supplies": [
                {"kind": "toner", "colour": "black", "level_percent": 40, "name": "K"}
            ]})  # fmt: skip
            supplies = await envelopes(
                rig.bootstrap, "devices.telemetry",
                match=lambda e: e.get("type") == "device.supplies_reported"
                and e.get("key") == str(device.device_id),
                done=lambda f: len(f) >= 1,
                timeout=120,
            )  # fmt: skip
            assert supplies[0]["data"]["supplies"][0]["level_percent"] == 40
            await ws.close()

        await counters.until(
            "SELECT 1 FROM counter_readings WHERE reading_id = $1", reading_id, timeout=60
        )
        async with counters.db() as conn:
            kept = {r["counter"]: r["value"] for r in await conn.fetch(
                "SELECT counter, value FROM printer_counters WHERE printer_id = $1",
                device.device_id,
            )}  # fmt: skip
        assert kept == {"total": 1234, "media:iso_a4_210x297mm": 1000}
