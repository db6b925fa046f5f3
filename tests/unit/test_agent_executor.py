"""Executing commands against the simulator: at most once per command and per job,
and a job found on the "paper" after a crash is not printed again."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.agent.executor import Executor, Rejected, Target
from services.agent.journal import Journal
from services.agent.printers import PrintRefused, PrintRequest
from services.agent.printers.simulator import (
    DEFAULT_CAPABILITIES,
    SimulatedPrinter,
    load_capabilities,
)
from services.agent.state import StateDir
from shared.protocols.device import Command


class Rig:
    def __init__(self, root: Path) -> None:
        self.state = StateDir(root / "state")
        self.journal = Journal(self.state.root / "journal.sqlite3")
        self.spool = root / "spool"
        self.printer = SimulatedPrinter(self.spool, DEFAULT_CAPABILITIES)
        self.printer_id = uuid.uuid4()
        self.notified = 0
        self.executor = Executor(self.journal, self.state, self.resolve, self.notify)

    def resolve(self, cmd: Command) -> Target:
        if cmd.target_device_id not in (None, self.printer_id):
            raise Rejected("not this printer")
        return Target(self.printer, self.printer_id)

    def notify(self) -> None:
        self.notified += 1

    def frames(self) -> list[dict[str, Any]]:
        return [json.loads(text) for _, text in self.journal.unsent(1000)]


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def _cmd(name: str, payload: dict[str, Any], command_id: uuid.UUID | None = None) -> Command:
    return Command(
        command_id=command_id or uuid.uuid4(), name=name, payload=payload,
        issued_at=datetime.now(UTC),
    )  # fmt: skip


def _job(job_id: uuid.UUID, data: bytes = b"%PDF-1.4 hi") -> dict[str, Any]:
    return {"job_id": str(job_id), "document_b64": base64.urlsafe_b64encode(data).decode(),
            "document_format": "application/pdf", "copies": 2}  # fmt: skip


async def test_a_command_runs_once_and_is_acknowledged_again(rig: Rig) -> None:
    job_id = uuid.uuid4()
    cmd = _cmd("print_job", _job(job_id))
    assert (await rig.executor.execute(cmd)).outcome == "done"
    assert (rig.spool / f"{job_id}.pdf").read_bytes() == b"%PDF-1.4 hi"
    again = await rig.executor.execute(cmd)
    assert again.outcome == "done"
    acks = [f for f in rig.frames() if f["type"] == "command_ack"]
    assert len(acks) == 2 and acks[0] == acks[1]
    states = [f["state"] for f in rig.frames() if f["type"] == "job_status"]
    assert states == ["received", "printing", "completed"]
    assert rig.notified >= 2


async def test_a_job_is_printed_once_whatever_command_carries_it(rig: Rig) -> None:
    job_id = uuid.uuid4()
    await rig.executor.execute(_cmd("print_job", _job(job_id)))
    second = await rig.executor.execute(_cmd("print_job", _job(job_id)))
    assert second.outcome == "done" and "already printed" in second.detail
    assert len(list(rig.spool.iterdir())) == 1


async def test_a_job_found_in_the_spool_after_a_crash_is_not_printed_again(rig: Rig) -> None:
    """Killed after the spool file was renamed into place, before ``printed`` was journaled."""
    job_id = uuid.uuid4()
    cmd = _cmd("print_job", _job(job_id, b"new bytes"))
    rig.journal.begin_job(job_id, None, cmd.command_id)
    rig.spool.mkdir(exist_ok=True)
    (rig.spool / f"{job_id}.pdf").write_bytes(b"first attempt")
    record = await rig.executor.execute(cmd)
    assert record.outcome == "done" and "found after a restart" in record.detail
    assert (rig.spool / f"{job_id}.pdf").read_bytes() == b"first attempt"
    job = rig.journal.job(job_id)
    assert job is not None and job.state == "printed"


async def test_a_job_interrupted_before_the_printer_got_it_is_printed(rig: Rig) -> None:
    job_id = uuid.uuid4()
    cmd = _cmd("print_job", _job(job_id))
    rig.journal.begin_job(job_id, None, cmd.command_id)
    assert (await rig.executor.execute(cmd)).outcome == "done"
    assert (rig.spool / f"{job_id}.pdf").exists()


@pytest.mark.parametrize(
    ("name", "payload", "target", "outcome", "reason"),
    [
        ("reboot", {}, None, "rejected", "unknown command 'reboot'"),
        ("print_job", {"job_id": "x"}, None, "rejected", "job_id"),
        ("print_job", {**_job(uuid.uuid4()), "staple": True}, None, "rejected", "staple"),
        ("print_job", {**_job(uuid.uuid4()), "document_b64": "!!"}, None, "rejected", "base64"),
        ("print_job", {**_job(uuid.uuid4()), "copies": 500}, None, "failed", "copies"),
        ("print_job", _job(uuid.uuid4()), uuid.uuid4(), "rejected", "not this printer"),
        ("sync_devices", {"devices": []}, None, "rejected", "only a connector"),
        ("deliver_file", {"name": "a", "purpose": "malware", "content_b64": ""}, None,
         "rejected", "purpose"),
    ],
)  # fmt: skip
async def test_refusals_name_the_reason(
    rig: Rig, name: str, payload: dict[str, Any], target: uuid.UUID | None,
    outcome: str, reason: str,
) -> None:  # fmt: skip
    cmd = _cmd(name, payload).model_copy(update={"target_device_id": target})
    record = await rig.executor.execute(cmd)
    assert record.outcome == outcome and reason in record.detail, record
    assert rig.journal.command(cmd.command_id) == record
    assert not rig.spool.exists() or not list(rig.spool.iterdir())


async def test_deliver_file_is_stored_for_the_printer(rig: Rig) -> None:
    payload = {"name": "logo.png", "purpose": "template", "content_b64": "iVBORw0K"}
    record = await rig.executor.execute(_cmd("deliver_file", payload))
    assert record.outcome == "done"
    stored = rig.state.root / "deliveries" / str(rig.printer_id) / "template" / "logo.png"
    assert stored.read_bytes() == base64.b64decode("iVBORw0K")


async def test_simulator_capabilities_can_be_overridden_from_a_file(tmp_path: Path) -> None:
    custom = DEFAULT_CAPABILITIES.model_copy(update={"document_format_supported": ["image/jpeg"]})
    path = tmp_path / "caps.json"
    path.write_text(custom.model_dump_json())
    printer = SimulatedPrinter(tmp_path / "spool", load_capabilities(path))
    assert (await printer.probe()).capabilities == custom
    assert load_capabilities(None) == DEFAULT_CAPABILITIES
    with pytest.raises(PrintRefused, match="image/jpeg"):
        await printer.submit(PrintRequest(uuid.uuid4(), b"%PDF", "application/pdf"))
    name = await printer.submit(PrintRequest(uuid.uuid4(), b"\xff\xd8", "image/jpeg"))
    assert name.endswith(".jpg")
