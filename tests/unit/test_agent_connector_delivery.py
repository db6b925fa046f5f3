"""A connector's deliveries: held while the printer is unreachable, carried out once it
answers, never twice; settings and files, and how a printer that cannot take them is
answered; at most ``bound`` at once."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.agent.executor import Dispatcher, Executor, Target
from services.agent.journal import Journal
from services.agent.printers import DeviceUnreachable, PrintRequest, SettingValue, Unsupported
from services.agent.printers.files import FileDelivery
from services.agent.printers.simulator import DEFAULT_CAPABILITIES, SimulatedPrinter
from services.agent.state import StateDir
from shared.protocols.device import Command


class Device(SimulatedPrinter):
    """A simulated printer that can be switched off and may not take settings."""

    def __init__(self, spool: Path, *, settings: bool = True) -> None:
        super().__init__(spool, DEFAULT_CAPABILITIES)
        self.up = True
        self.takes_settings = settings
        self.settings: dict[str, SettingValue] = {}
        self.submitted: list[uuid.UUID] = []

    async def submit(self, request: PrintRequest) -> str:
        if not self.up:
            raise DeviceUnreachable("ipp://device")
        self.submitted.append(request.job_id)
        return await super().submit(request)

    async def find_job(self, job_id: uuid.UUID) -> str | None:
        if not self.up:
            raise DeviceUnreachable("ipp://device")
        return await super().find_job(job_id)

    async def set_attributes(self, attributes: dict[str, SettingValue]) -> None:
        if not self.up:
            raise DeviceUnreachable("ipp://device")
        if not self.takes_settings:
            raise Unsupported("server-error-operation-not-supported")
        self.settings.update(attributes)


class Files:
    """A device's file endpoint, kept in memory."""

    address = "http://device/files"

    def __init__(self) -> None:
        self.kept: dict[uuid.UUID, FileDelivery] = {}
        self.sends = 0
        self.up = True

    async def has(self, delivery_id: uuid.UUID) -> bool:
        if not self.up:
            raise DeviceUnreachable(self.address)
        return delivery_id in self.kept

    async def send(self, delivery: FileDelivery) -> None:
        if not self.up:
            raise DeviceUnreachable(self.address)
        self.sends += 1
        self.kept[delivery.delivery_id] = delivery

    async def close(self) -> None:
        return None


class Rig:
    def __init__(self, root: Path, *, settings: bool = True) -> None:
        self.state = StateDir(root / "state")
        self.journal = Journal(self.state.root / "journal.sqlite3")
        self.device = Device(root / "spool", settings=settings)
        self.files = Files()
        self.printer_id = uuid.uuid4()
        self.reachable: bool | None = True
        self.executor = Executor(self.journal, self.state, self.resolve, lambda: None, hold=True)

    def resolve(self, cmd: Command) -> Target:
        return Target(self.device, self.printer_id, self.printer_id, self.files, self.reachable)

    def acks(self) -> list[dict[str, Any]]:
        frames = [json.loads(text) for _, text in self.journal.unsent(1000)]
        return [f for f in frames if f["type"] == "command_ack"]

    def cmd(self, name: str, payload: dict[str, Any]) -> Command:
        return Command(
            command_id=uuid.uuid4(), name=name, payload=payload, issued_at=datetime.now(UTC),
            target_device_id=self.printer_id,
        )  # fmt: skip


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def _job(job_id: uuid.UUID) -> dict[str, Any]:
    return {"job_id": str(job_id), "document_b64": base64.b64encode(b"%PDF-1.4 hi").decode(),
            "document_format": "application/pdf"}  # fmt: skip


def _file(name: str = "fw.bin") -> dict[str, Any]:
    return {"name": name, "purpose": "firmware", "content_b64": base64.b64encode(b"FW").decode()}


async def test_content_for_an_unreachable_printer_is_held_unacknowledged_until_it_answers(
    rig: Rig,
) -> None:
    rig.reachable = False
    job, upload = rig.cmd("print_job", _job(uuid.uuid4())), rig.cmd("deliver_file", _file())
    assert await rig.executor.execute(job) is None
    assert await rig.executor.execute(upload) is None
    assert await rig.executor.execute(job) is None  # delivered again by the cloud: held once
    assert [c.command_id for c in rig.journal.held(rig.printer_id)] == [
        job.command_id, upload.command_id,
    ]  # fmt: skip
    assert rig.acks() == [] and rig.device.submitted == [] and rig.files.sends == 0

    # Held commands survive a restart.
    rig.journal.close()
    rig.journal = rig.executor.journal = Journal(rig.state.root / "journal.sqlite3")
    rig.reachable = True
    for held in rig.journal.held(rig.printer_id):
        record = await rig.executor.execute(held)
        assert record is not None and record.outcome == "done", record
    assert rig.journal.held() == []
    assert [a["command_id"] for a in rig.acks()] == [str(job.command_id), str(upload.command_id)]
    assert len(rig.device.submitted) == 1 and rig.files.sends == 1


async def test_a_printer_lost_while_printing_gets_the_job_once_it_answers(rig: Rig) -> None:
    job_id = uuid.uuid4()
    job = rig.cmd("print_job", _job(job_id))
    rig.device.up = False  # the probe said yes, the printer went away since
    assert await rig.executor.execute(job) is None
    assert rig.journal.job(job_id) is not None  # begun: the next try asks the printer first
    rig.device.up = True
    record = await rig.executor.execute(job)
    assert record is not None and record.outcome == "done"
    assert rig.device.submitted == [job_id]
    assert await rig.executor.execute(job) == record  # acknowledged again, not printed again
    assert rig.device.submitted == [job_id]


async def test_a_file_the_printer_already_has_is_not_sent_again(rig: Rig) -> None:
    upload = rig.cmd("deliver_file", _file())
    # A connector killed after the printer took the file, before it recorded it.
    await rig.files.send(FileDelivery(upload.command_id, "firmware", "fw.bin", b"FW"))
    record = await rig.executor.execute(upload)
    assert record is not None and record.outcome == "done"
    assert record.detail.endswith("(already there)") and rig.files.sends == 1

    fresh = rig.cmd("deliver_file", _file("template.pdf"))
    record = await rig.executor.execute(fresh)
    assert record is not None and record.detail == "delivered to http://device/files"
    assert rig.files.kept[fresh.command_id].content == b"FW"
    assert not (rig.state.root / "deliveries").exists()


async def test_a_file_endpoint_that_does_not_answer_holds_the_file(rig: Rig) -> None:
    rig.files.up = False
    upload = rig.cmd("deliver_file", _file())
    assert await rig.executor.execute(upload) is None
    assert [c.command_id for c in rig.journal.held()] == [upload.command_id]


async def test_settings_are_applied_or_reported_unsupported(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    applied = await rig.executor.execute(
        rig.cmd("apply_settings", {"attributes": {"printer-location": "Floor 3"}})
    )
    assert applied is not None and applied.outcome == "done"
    assert rig.device.settings == {"printer-location": "Floor 3"}

    plain = Rig(tmp_path / "plain", settings=False)
    refused = await plain.executor.execute(
        plain.cmd("apply_settings", {"attributes": {"printer-location": "Floor 3"}})
    )
    assert refused is not None and refused.outcome == "rejected"
    assert refused.detail.startswith("unsupported: ")
    bad = await plain.executor.execute(plain.cmd("apply_settings", {"attributes": {"X": 1}}))
    assert bad is not None and bad.outcome == "rejected" and "attributes" in bad.detail


async def test_a_printer_without_a_file_endpoint_has_files_rejected_as_unsupported(
    rig: Rig,
) -> None:
    executor = Executor(
        rig.journal, rig.state,
        lambda cmd: Target(rig.device, rig.printer_id, rig.printer_id, None, True),
        lambda: None, hold=True,
    )  # fmt: skip
    record = await executor.execute(rig.cmd("deliver_file", _file()))
    assert record is not None and record.outcome == "rejected"
    assert record.detail.startswith("unsupported: ")


async def test_no_more_than_the_bound_run_at_once(rig: Rig) -> None:
    running, most = 0, 0
    release = asyncio.Event()

    class Slow(Executor):
        async def execute(self, cmd: Command) -> None:  # type: ignore[override]
            nonlocal running, most
            running += 1
            most = max(most, running)
            await release.wait()
            running -= 1

    dispatcher = Dispatcher(Slow(rig.journal, rig.state, rig.resolve, lambda: None),
                            asyncio.Semaphore(2))  # fmt: skip
    for _ in range(5):  # five printers, one command each
        dispatcher.submit(
            Command(command_id=uuid.uuid4(), name="identify", issued_at=datetime.now(UTC),
                    target_device_id=uuid.uuid4())
        )  # fmt: skip
    for _ in range(50):
        await asyncio.sleep(0)
    assert running == 2
    release.set()
    await dispatcher.drain(10)
    await dispatcher.close()
    assert most == 2 and running == 0
