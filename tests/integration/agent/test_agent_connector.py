"""A connector bridging two real IPP printers, one of them stopped: it reports what
it can reach, delivers there (jobs over IPP, files to the printer's file endpoint,
settings over Set-Printer-Attributes, which ippeveprinter does not support), holds
what the unreachable one should get and delivers it once that printer answers."""

from __future__ import annotations

import base64
import json
import sqlite3
import uuid
from pathlib import Path

from shared.infra.kafka import free_port_range
from shared.testing.files import file_endpoint
from shared.testing.ipp import minimal_pdf, start_ippeveprinter, system_bus
from tests.support.agent import agent, gateway_for
from tests.support.waiting import eventually


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _held(state: Path) -> set[str]:
    db = sqlite3.connect(f"file:{state / 'journal.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        return {str(r[0]) for r in db.execute("SELECT command_id FROM held")}
    finally:
        db.close()


async def test_connector_reports_delivers_and_holds_for_the_unreachable(tmp_path: Path) -> None:
    state = tmp_path / "state"
    online_id, offline_id = uuid.uuid4(), uuid.uuid4()
    files = file_endpoint(tmp_path / "online-files")
    files.start()
    with system_bus() as env:
        online = start_ippeveprinter(env, tmp_path / "online")
        late_port = free_port_range()  # the offline printer's, started later
        offline_uri = f"ipp://127.0.0.1:{late_port}/ipp/print"
        offline = None
        args = ("--mode", "connector", "--probe-timeout", "2", "--probe-interval", "1")
        try:
            async with gateway_for(state, kind="connector") as gw:
                with agent(state, gw.url, *args) as proc:
                    session = await gw.next_session()
                    devices = [
                        {
                            "printer_id": str(online_id),
                            "uri": online.uri,
                            "name": "Floor 1",
                            "files_uri": files.uri,
                        },
                        {"printer_id": str(offline_id), "uri": offline_uri},
                    ]
                    sync = await session.command("sync_devices", {"devices": devices})
                    assert (await session.ack(sync))["outcome"] == "done"
                    saved = json.loads((state / "devices.json").read_text())["devices"]
                    assert {d["printer_id"] for d in saved} == {str(online_id), str(offline_id)}

                    caps = await session.wait_for(
                        lambda f: f["type"] == "capabilities" and f["device_id"] == str(online_id)
                    )
                    assert "application/pdf" in caps["capabilities"]["document_format_supported"]
                    down = await session.wait_for(
                        lambda f: f["type"] == "status" and f["device_id"] == str(offline_id)
                    )
                    assert down["state"] == "stopped"
                    assert down["reasons"] == ["offline-report"]
                    assert not [
                        f for f in session.of_type("capabilities")
                        if f["device_id"] == str(offline_id)
                    ]  # fmt: skip

                    job_id, document = uuid.uuid4(), minimal_pdf("via connector")
                    payload = {"job_id": str(job_id), "document_b64": _b64(document),
                               "document_format": "application/pdf"}  # fmt: skip
                    printed = await session.command("print_job", payload, target=online_id)
                    assert (await session.ack(printed))["outcome"] == "done"
                    status = await session.wait_for(
                        lambda f: f["type"] == "job_status" and f["state"] == "completed"
                    )
                    assert status["device_id"] == str(online_id)
                    (kept,) = online.documents(job_id)
                    assert kept.read_bytes() == document

                    template = {"name": "letterhead.pdf", "purpose": "template",
                                "content_b64": _b64(b"%PDF template")}  # fmt: skip
                    delivered = await session.command("deliver_file", template, target=online_id)
                    assert (await session.ack(delivered))["outcome"] == "done"
                    assert files.received() == [(str(delivered), "template", "letterhead.pdf")]
                    kept = tmp_path / "online-files" / "template" / "letterhead.pdf"
                    assert kept.read_bytes() == b"%PDF template"
                    assert not (state / "deliveries").exists()  # not kept by the connector

                    settings = {"attributes": {"printer-location": "Floor 1"}}
                    refused = await session.command("apply_settings", settings, target=online_id)
                    ack = await session.ack(refused)
                    assert ack["outcome"] == "rejected"
                    assert ack["detail"].startswith("unsupported: ")

                    # The unreachable printer's content is held, unacknowledged...
                    later_job = dict(payload, job_id=str(uuid.uuid4()))
                    held_job = await session.command("print_job", later_job, target=offline_id)
                    held_file = await session.command("deliver_file", template, target=offline_id)
                    await eventually(lambda: _held(state) == {str(held_job), str(held_file)})
                    assert not [
                        f for f in session.of_type("command_ack")
                        if f["command_id"] in (str(held_job), str(held_file))
                    ]  # fmt: skip
                    # ... and delivered once it answers (no file endpoint: unsupported).
                    offline = start_ippeveprinter(env, tmp_path / "offline", port=late_port)
                    assert (await session.ack(held_job))["outcome"] == "done"
                    (late,) = offline.documents(later_job["job_id"])
                    assert late.read_bytes() == document
                    ack = await session.ack(held_file)
                    assert ack["outcome"] == "rejected" and "no files_uri" in ack["detail"]
                    assert _held(state) == set()

                    stranger = await session.command("print_job", payload, target=uuid.uuid4())
                    assert (await session.ack(stranger))["outcome"] == "rejected"
                    no_target = await session.command("print_job", payload)
                    assert (await session.ack(no_target))["outcome"] == "rejected"
                    assert await proc.terminate() == 0

                # After a restart the persisted device list is reported without a sync.
                with agent(state, gw.url, *args):
                    session = await gw.next_session()
                    await session.wait_for(
                        lambda f: f["type"] == "capabilities" and f["device_id"] == str(online_id)
                    )
                    await session.wait_for(
                        lambda f: f["type"] == "status" and f["device_id"] == str(offline_id)
                    )
        finally:
            online.stop()
            files.stop()
            if offline is not None:
                offline.stop()
