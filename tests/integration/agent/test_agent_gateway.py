"""The agent as a separate process against a gateway that speaks protocol v1 exactly:
authentication, reports, commands and acks, the journal across SIGKILL, reconnects."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from pathlib import Path

from services.agent.printers.simulator import DEFAULT_CAPABILITIES
from services.agent.state import StateDir
from tests.support.agent import agent, gateway_for
from tests.support.waiting import eventually


def _print(job_id: uuid.UUID, document: bytes, fmt: str = "application/pdf") -> dict[str, object]:
    return {
        "job_id": str(job_id),
        "document_b64": base64.b64encode(document).decode(),
        "document_format": fmt,
        "title": "quarterly report",
    }


def _job_states(frames: list[dict[str, object]], job_id: uuid.UUID) -> list[object]:
    return [f["state"] for f in frames if f["type"] == "job_status" and f["job_id"] == str(job_id)]


async def test_authenticates_reports_and_executes_commands(tmp_path: Path) -> None:
    state, spool = tmp_path / "state", tmp_path / "spool"
    async with gateway_for(state) as gw:
        with agent(state, gw.url, "--mode", "simulator", "--spool", str(spool)):
            session = await gw.next_session()
            # No identity yet: the device learns it from welcome and keeps it.
            assert session.auth.device_id is None
            assert session.auth.fingerprint == StateDir(state).fingerprint()
            caps = await session.wait_for(lambda f: f["type"] == "capabilities")
            assert caps["capabilities"] == DEFAULT_CAPABILITIES.model_dump(mode="json")
            status = await session.wait_for(lambda f: f["type"] == "status")
            assert status["state"] == "idle"
            await session.wait_for(lambda f: f["type"] == "heartbeat" and f["seq"] >= 1)
            identity = json.loads((state / "identity.json").read_text())
            assert identity["device_id"] == str(gw.device_id)

            job_id, document = uuid.uuid4(), b"%PDF-1.4 a document \x00\xff" * 100
            cmd = await session.command("print_job", _print(job_id, document))
            ack = await session.ack(cmd)
            assert ack["outcome"] == "done", ack
            assert _job_states(session.frames, job_id) == ["received", "printing", "completed"]
            assert (spool / f"{job_id}.pdf").read_bytes() == document

            # The same command again (a redelivery): acknowledged, not printed again.
            session.frames.clear()
            await session.command("print_job", _print(job_id, document), command_id=cmd)
            assert (await session.ack(cmd))["outcome"] == "done"
            assert _job_states(session.frames, job_id) == []
            assert list(spool.iterdir()) == [spool / f"{job_id}.pdf"]

            ident = await session.command("identify")
            assert (await session.ack(ident))["outcome"] == "done"

            unknown = await session.command("format_hard_disk", {"now": True})
            ack = await session.ack(unknown)
            assert ack["outcome"] == "rejected" and "format_hard_disk" in ack["detail"]

            bad = await session.command("print_job", {"job_id": "not-a-uuid"})
            ack = await session.ack(bad)
            assert ack["outcome"] == "rejected" and "job_id" in ack["detail"]

            refused = await session.command("print_job", _print(uuid.uuid4(), b"x", "text/x-foo"))
            ack = await session.ack(refused)
            assert ack["outcome"] == "failed" and "document-format" in ack["detail"]

            content = b'{"sleep_after_s": 60}'
            deliver = await session.command(
                "deliver_file",
                {"name": "power.json", "purpose": "settings",
                 "content_b64": base64.b64encode(content).decode()},
            )  # fmt: skip
            assert (await session.ack(deliver))["outcome"] == "done"
            stored = state / "deliveries" / str(gw.device_id) / "settings" / "power.json"
            assert stored.read_bytes() == content

            escape = await session.command(
                "deliver_file", {"name": "../../identity.json", "purpose": "settings",
                                 "content_b64": "e30"},
            )  # fmt: skip
            assert (await session.ack(escape))["outcome"] == "rejected"


async def test_sigkill_after_printing_never_prints_twice(tmp_path: Path) -> None:
    state, spool = tmp_path / "state", tmp_path / "spool"
    job_id, document = uuid.uuid4(), b"%PDF-1.4 print me once"
    args = ("--mode", "simulator", "--spool", str(spool))
    async with gateway_for(state) as gw:
        with agent(state, gw.url, *args) as first:
            session = await gw.next_session()
            cmd = await session.command("print_job", _print(job_id, document))
            # Printed and journaled; kill before the gateway takes any ack into account.
            await session.wait_for(
                lambda f: f["type"] == "job_status" and f["state"] == "completed"
            )
            first.kill()
        with agent(state, gw.url, *args):
            session = await gw.next_session()
            assert session.auth.device_id == gw.device_id  # known from the first welcome
            await session.command("print_job", _print(job_id, document), command_id=cmd)
            assert (await session.ack(cmd))["outcome"] == "done"
            # Another command for the same job is not printed either.
            again = await session.command("print_job", _print(job_id, document))
            ack = await session.ack(again)
            assert ack["outcome"] == "done" and "already printed" in ack["detail"]
    assert [p.name for p in spool.iterdir()] == [f"{job_id}.pdf"]


def _reconnects(output: str) -> list[dict[str, object]]:
    """The agent's own "reconnecting" log lines: attempt number and the delay it chose."""
    lines = (json.loads(line) for line in output.splitlines() if line.startswith("{"))
    return [line for line in lines if line.get("event") == "reconnecting"]


async def test_reconnects_with_backoff_and_sends_the_ack_it_owes(tmp_path: Path) -> None:
    state, spool = tmp_path / "state", tmp_path / "spool"
    job_id = uuid.uuid4()
    args = ("--mode", "simulator", "--spool", str(spool), "--print-seconds", "1.0")
    async with gateway_for(state) as gw:
        with agent(state, gw.url, *args) as proc:
            first = await gw.next_session()
            cmd = await first.command("print_job", _print(job_id, b"%PDF-1.4 slow job"))
            await first.wait_for(lambda f: f["type"] == "job_status" and f["state"] == "printing")
            await first.ws.close()  # drop the device while it prints

            second = await gw.next_session()
            # No redelivery in this session: the agent sends the ack it still owed.
            ack = await second.ack(cmd)
            assert ack["outcome"] == "done"
            assert [p.name for p in spool.iterdir()] == [f"{job_id}.pdf"]

            # Refused twice (fatal error frames): the agent backs off, then gets in.
            gw.refuse = 2
            await second.ws.close()
            third = await gw.next_session(timeout=30)
            assert third.auth.device_id == gw.device_id
            assert len(gw.attempts) == 5  # three sessions and two refusals, nothing more

            # Exponential backoff with full jitter, checked against the policy rather than
            # a wall clock: attempt n waits uniform(0, 0.5 * 2**(n-1)); short sessions do
            # not reset the count, so every reconnect here climbs one step.
            await eventually(
                lambda: len(_reconnects(proc.output())) >= 4, what="4 reconnects logged"
            )
            steps = _reconnects(proc.output())
            assert [s["attempt"] for s in steps] == [1, 2, 3, 4], steps
            for step in steps:
                assert 0 <= float(step["after_s"]) <= 0.5 * 2 ** (int(step["attempt"]) - 1), step
            # The gateway saw each attempt no earlier than the delay the agent chose.
            gaps = [b - a for a, b in zip(gw.attempts[-3:-1], gw.attempts[-2:], strict=True)]
            for gap, step in zip(gaps, steps[-2:], strict=True):
                assert gap >= float(step["after_s"]) - 0.05, (gaps, steps)


async def test_sigterm_closes_with_1001_and_exits_0(tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with gateway_for(state) as gw:
        with agent(state, gw.url, "--mode", "simulator", "--spool", str(tmp_path / "s")) as proc:
            session = await gw.next_session()
            await session.wait_for(lambda f: f["type"] == "status")
            assert await proc.terminate() == 0
            await asyncio.wait_for(session.closed.wait(), 10)
            assert session.close_code == 1001
            await eventually(lambda: "agent stopped" in proc.output())
