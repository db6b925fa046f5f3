"""The agent as a separate process: a job's final status that the cloud did not get
(the gateway died with it) is reported again while the cloud still lists the job, and
a status queued while the websocket was down goes out after the reconnect."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from services.agent.state import StateDir
from shared.protocols.device import Notify
from tests.support.agent import (
    AgentProcess,
    FakeCloud,
    FakeGateway,
    GatewaySession,
    agent,
    gateway_for,
)
from tests.support.waiting import eventually


@dataclass
class Running:
    gw: FakeGateway
    cloud: FakeCloud
    job: uuid.UUID
    spool: Path
    proc: AgentProcess

    def printed(self) -> list[str]:
        return [p.name for p in self.spool.glob("*.pdf")]


@contextlib.asynccontextmanager
async def _running(tmp_path: Path, *args: str) -> AsyncIterator[Running]:
    """A fake gateway and cloud listing one job, and the agent (simulator) printing it."""
    state, spool = tmp_path / "state", tmp_path / "spool"
    async with gateway_for(state) as gw:
        cloud = FakeCloud(gw.device_id, StateDir(state).public_der())
        job = cloud.add_job(gw.device_id)
        server = TestServer(cloud.app(), host="127.0.0.1")
        await server.start_server()
        api = str(server.make_url("")).rstrip("/")
        try:
            with agent(
                state, gw.url, "--mode", "simulator", "--spool", str(spool), "--api-url", api,
                "--jobs-interval", "3600", "--no-login-qr", *args,
            ) as proc:  # fmt: skip
                yield Running(gw, cloud, job, spool, proc)
        finally:
            await server.close()


def _statuses(frames: list[dict[str, Any]], job_id: uuid.UUID) -> list[str]:
    return [f["state"] for f in frames if f["type"] == "job_status" and f["job_id"] == str(job_id)]


async def _listing(session: GatewaySession, cloud: FakeCloud) -> None:
    """A notify, and the listing it causes."""
    listed = cloud.listings
    await session.ws.send_str(Notify(kind="work_available").model_dump_json())
    await eventually(lambda: cloud.listings > listed)


async def test_a_completed_report_the_cloud_did_not_get_is_sent_again(tmp_path: Path) -> None:
    async with _running(tmp_path) as run:
        gw, cloud, job = run.gw, run.cloud, run.job
        first = await gw.next_session()
        await first.wait_for(lambda f: f["type"] == "job_status" and f["state"] == "completed")
        assert _statuses(first.frames, job)[:3] == ["received", "printing", "completed"]
        # The gateway dies with the report: queues never hears of it, still lists the job.
        await first.ws.close()

        second = await gw.next_session()
        await second.wait_for(lambda f: f["type"] == "job_status" and f["job_id"] == str(job))
        assert _statuses(second.frames, job) == ["completed"]
        assert "job reported again: the cloud still lists it" in run.proc.output()
        assert cloud.fetched == [str(job)]
        assert run.printed() == [f"{job}.pdf"]

        # Queues applied it and lists the job no more: it is not reported again.
        cloud.jobs = []
        await _listing(second, cloud)
        await _listing(second, cloud)  # the first listing's round is over
        ack = await second.ack(await second.command("identify"))
        assert ack["outcome"] == "done"  # queued after anything that round queued
        assert _statuses(second.frames, job) == ["completed"]
        assert run.printed() == [f"{job}.pdf"]


async def test_a_report_queued_while_disconnected_is_sent_after_the_reconnect(
    tmp_path: Path,
) -> None:
    async with _running(tmp_path, "--print-seconds", "2") as run:
        gw, job = run.gw, run.job
        first = await gw.next_session()
        await first.wait_for(lambda f: f["type"] == "job_status" and f["state"] == "printing")
        run.cloud.jobs = []  # nothing to report again: the report can only come from the queue
        gw.refuse = 1  # the next connection is refused: the agent waits, then gets in
        await first.ws.close()
        second = await gw.next_session(timeout=20)
        await second.wait_for(lambda f: f["type"] == "job_status" and f["state"] == "completed")
        assert _statuses(first.frames, job) == ["received", "printing"]
        assert _statuses(second.frames, job) == ["completed"]
        assert run.printed() == [f"{job}.pdf"]
