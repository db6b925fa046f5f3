"""A connector bridging two real IPP printers, one of them stopped: it reports what
it can reach, delivers there, and fails cleanly for the unreachable one."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

from shared.testing.ipp import minimal_pdf, start_ippeveprinter, system_bus
from tests.support.agent import agent, gateway_for


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def test_connector_reports_delivers_and_fails_for_the_unreachable(tmp_path: Path) -> None:
    state = tmp_path / "state"
    online_id, offline_id = uuid.uuid4(), uuid.uuid4()
    with system_bus() as env:
        online = start_ippeveprinter(env, tmp_path / "online")
        offline = start_ippeveprinter(env, tmp_path / "offline")
        offline.stop()  # its port no longer answers
        args = ("--mode", "connector", "--probe-timeout", "2", "--probe-interval", "60")
        try:
            async with gateway_for(state, kind="connector") as gw:
                with agent(state, gw.url, *args) as proc:
                    session = await gw.next_session()
                    devices = [
                        {"printer_id": str(online_id), "uri": online.uri, "name": "Floor 1"},
                        {"printer_id": str(offline_id), "uri": offline.uri},
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

                    lost = dict(payload, job_id=str(uuid.uuid4()))
                    failed = await session.command("print_job", lost, target=offline_id)
                    ack = await session.ack(failed)
                    assert ack["outcome"] == "failed"
                    assert ack["detail"] == f"device unreachable: {offline.uri}"

                    template = {"name": "letterhead.pdf", "purpose": "template",
                                "content_b64": _b64(b"%PDF template")}  # fmt: skip
                    delivered = await session.command("deliver_file", template, target=online_id)
                    assert (await session.ack(delivered))["outcome"] == "done"
                    stored = state / "deliveries" / str(online_id) / "template" / "letterhead.pdf"
                    assert stored.read_bytes() == b"%PDF template"
                    undelivered = await session.command("deliver_file", template, target=offline_id)
                    ack = await session.ack(undelivered)
                    assert ack["outcome"] == "failed" and offline.uri in ack["detail"]

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
