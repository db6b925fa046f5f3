"""The agent's job loop against a stand-in for the cloud's device APIs on loopback (real
HTTP): device token, job list, documents, login codes. Jobs print in the listed order,
once each, with their settings; waiting jobs go on the panel; cancels are honoured."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from services.agent.cloud import CloudApi
from services.agent.download import Downloads
from services.agent.executor import Target
from services.agent.jobs import JobLoop
from services.agent.journal import JobChange, Journal
from services.agent.panel import Panel
from services.agent.printers import DeviceUnreachable, PrintRequest
from services.agent.printers.simulator import DEFAULT_CAPABILITIES, SimulatedPrinter
from services.agent.state import Identity, StateDir
from shared.protocols.device import Notify
from tests.support.agent import FakeCloud
from tests.support.waiting import eventually


@dataclass
class Rig:
    cloud: FakeCloud
    state: StateDir
    journal: Journal
    printers: dict[uuid.UUID, SimulatedPrinter]
    loop: JobLoop
    sent: list[int]
    targets: dict[uuid.UUID, Target]

    def frames(self) -> list[dict[str, Any]]:
        return [json.loads(text) for _, text in self.journal.unsent(1000)]

    def statuses(self, job_id: uuid.UUID) -> list[str]:
        return [
            f["state"] for f in self.frames()
            if f["type"] == "job_status" and f["job_id"] == str(job_id)
        ]  # fmt: skip

    def panel(self) -> dict[str, Any]:
        panel: dict[str, Any] = json.loads((self.state.root / "panel.json").read_text())
        return panel


RigFactory = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def make_rig(tmp_path: Path) -> AsyncIterator[RigFactory]:
    stack: list[Callable[[], Awaitable[None]]] = []

    async def make(
        printers: int = 1, print_seconds: float = 0.0, connector: bool = False,
        login_qr: bool = True, max_attempts: int = 5, retry_after_s: float = 15.0,
    ) -> Rig:  # fmt: skip
        state = StateDir(tmp_path / "state")
        me = uuid.uuid4()
        state.save_identity(Identity(me, uuid.uuid4(), "connector" if connector else "printer"))
        cloud = FakeCloud(me, state.public_der())
        server = TestServer(cloud.app())
        await server.start_server()
        http = aiohttp.ClientSession()
        journal = Journal(state.root / "journal.sqlite3")
        ids = [uuid.uuid4() for _ in range(printers)] if connector else [me]
        sims = {
            pid: SimulatedPrinter(tmp_path / f"spool-{pid}", DEFAULT_CAPABILITIES, print_seconds)
            for pid in ids
        }
        targets = {pid: Target(sim, pid, pid if connector else None) for pid, sim in sims.items()}
        sent: list[int] = []
        loop = JobLoop(
            CloudApi(str(server.make_url("/")), state, http), journal,
            Downloads(state.root / "downloads"), Panel(state), lambda: targets,
            lambda: sent.append(1), interval=3600, login_qr=login_qr,
            max_attempts=max_attempts, retry_after_s=retry_after_s,
        )  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop))

        async def close() -> None:
            stop.set()
            await task
            await http.close()
            await server.close()
            journal.close()

        stack.append(close)
        return Rig(cloud, state, journal, sims, loop, sent, targets)

    yield make
    for close in stack:
        await close()


def _printed(rig: Rig, printer_id: uuid.UUID, job_id: uuid.UUID) -> bool:
    known = rig.journal.job(job_id)
    return known is not None and known.state == "printed"


async def test_jobs_print_in_order_once_each_with_their_settings(make_rig: RigFactory) -> None:
    rig = await make_rig()
    (me,) = rig.printers
    settings = {"copies": 2, "sides": "two-sided-long-edge", "media": "iso_a4_210x297mm",
                "print_color_mode": "monochrome", "orientation": "landscape",
                "page_ranges": [{"first": 1, "last": 2}]}  # fmt: skip
    first = rig.cloud.add_job(me, settings=settings, title="Quarterly")
    waiting = rig.cloud.add_job(me, fetchable=False, title="Payslips", owner="Grace H.")
    done_before = rig.cloud.add_job(me)
    second = rig.cloud.add_job(me)
    rig.journal.begin_job(done_before, None, None)
    rig.journal.finish_job(JobChange(done_before, "printed", "earlier"))

    rig.loop.poke()
    await eventually(lambda: _printed(rig, me, second))
    await eventually(lambda: all(s.idle.is_set() for s in rig.loop.stations.values()))
    assert rig.cloud.fetched == [str(first), str(second)]
    for job in (first, second):
        assert rig.statuses(job) == ["received", "printing", "completed"]
        spooled = rig.printers[me].spool / f"{job}.pdf"
        assert spooled.read_bytes() == rig.cloud.documents[str(job)]
    # Printed before, yet still listed: its report was lost, so it is reported again.
    assert rig.statuses(done_before) == ["completed"] and rig.statuses(waiting) == []
    ticket = json.loads((rig.printers[me].spool / ".tickets" / f"{first}.json").read_text())
    assert ticket["title"] == "Quarterly"
    assert ticket["settings"] == {
        "copies": 2, "sides": "two-sided-long-edge", "media": "iso_a4_210x297mm",
        "print_color_mode": "monochrome", "printer_resolution": None,
        "page_ranges": [{"first": 1, "last": 2}], "orientation": "landscape",
        "finishings": [], "collate": True,
    }  # fmt: skip
    panel = rig.panel()["printers"][str(me)]
    assert panel["waiting"] == [{
        "job_id": str(waiting), "title": "Payslips", "pages": 3,
        "owner_display_name": "Grace H.", "requires_login": True,
    }]  # fmt: skip
    assert panel["login"]["qr_payload"].startswith("printcloud:login?c=")
    assert rig.cloud.challenges == [{}]
    assert not list((rig.state.root / "downloads").iterdir())  # printed: nothing kept

    # The same list again (a notify, the periodic listing): nothing prints twice.
    listed = rig.cloud.listings
    rig.loop.notified(Notify(kind="work_available", job_ids=[second]))
    await eventually(lambda: rig.cloud.listings > listed and rig.loop.synced >= 2)
    await eventually(lambda: all(s.idle.is_set() for s in rig.loop.stations.values()))
    assert rig.cloud.fetched == [str(first), str(second)]
    assert len(list(rig.printers[me].spool.glob("*.pdf"))) == 2

    # Once released, the waiting job is fetched, printed and leaves the panel.
    rig.cloud.jobs = [j for j in rig.cloud.jobs if j["job_id"] == str(waiting)]
    rig.cloud.jobs[0].update(fetchable=True, requires_login=False)
    rig.loop.notified(
        Notify(kind="session_opened", detail={"session_id": "s1", "user": "Grace H."})
    )
    await eventually(lambda: _printed(rig, me, waiting))
    await eventually(lambda: rig.panel()["printers"][str(me)]["waiting"] == [])
    assert rig.panel()["printers"][str(me)]["sessions"] == [
        {"session_id": "s1", "user": "Grace H."}
    ]


async def test_an_expired_token_is_refreshed_once_and_timestamps_never_repeat(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    (me,) = rig.printers
    job = rig.cloud.add_job(me)
    rig.loop.poke()
    await eventually(lambda: _printed(rig, me, job))
    issued = len(rig.cloud.tokens_issued)
    rig.cloud.revoked.update(rig.cloud.tokens_issued)  # the cloud no longer takes it
    later = rig.cloud.add_job(me)
    rig.loop.poke()
    await eventually(lambda: _printed(rig, me, later))
    assert len(rig.cloud.tokens_issued) == issued + 1
    assert rig.cloud.stamps == sorted(set(rig.cloud.stamps))


async def test_a_canceled_job_is_dropped_or_stopped_while_printing(make_rig: RigFactory) -> None:
    rig = await make_rig(print_seconds=30)
    (me,) = rig.printers
    printing = rig.cloud.add_job(me)
    queued = rig.cloud.add_job(me)
    rig.loop.poke()
    await eventually(lambda: rig.statuses(printing) == ["received", "printing"])
    rig.loop.notified(Notify(kind="job_canceled", job_ids=[printing, queued]))
    await eventually(lambda: rig.statuses(printing)[-1:] == ["canceled"], timeout=10)
    await eventually(lambda: all(s.idle.is_set() for s in rig.loop.stations.values()))
    assert rig.cloud.fetched == [str(printing)]  # the queued one was never fetched
    assert rig.statuses(queued) == []
    assert not list(rig.printers[me].spool.glob("*.pdf"))
    (canceled,) = [f for f in rig.frames() if f["state"] == "canceled"]

    # The cancel report was lost and the cloud still lists the job: reported again.
    _written(rig)
    await _listed_again(rig)
    assert [f for f in rig.frames() if f["type"] == "job_status"] == [canceled]
    assert rig.cloud.fetched == [str(printing)]


async def test_a_connector_prints_each_job_on_its_printer(make_rig: RigFactory) -> None:
    rig = await make_rig(printers=2, connector=True)
    left, right = rig.printers
    jobs = [rig.cloud.add_job(left), rig.cloud.add_job(right), rig.cloud.add_job(left)]
    rig.loop.poke()
    await eventually(lambda: all(_printed(rig, left, j) for j in jobs))
    assert sorted(p.name for p in rig.printers[left].spool.glob("*.pdf")) == sorted(
        [f"{jobs[0]}.pdf", f"{jobs[2]}.pdf"]
    )
    assert [p.name for p in rig.printers[right].spool.glob("*.pdf")] == [f"{jobs[1]}.pdf"]
    frames = [f for f in rig.frames() if f["type"] == "job_status"]
    assert {(f["job_id"], f["device_id"]) for f in frames} == {
        (str(jobs[0]), str(left)), (str(jobs[1]), str(right)), (str(jobs[2]), str(left)),
    }  # fmt: skip
    # Each printer's jobs in the listed order.
    order = [f["job_id"] for f in frames if f["state"] == "completed"]
    assert order.index(str(jobs[0])) < order.index(str(jobs[2]))
    assert sorted(c["printer_id"] for c in rig.cloud.challenges) == sorted([str(left), str(right)])


def _written(rig: Rig) -> None:
    """Every queued frame written to a websocket (that then died: the cloud got none)."""
    for seq, _ in rig.journal.unsent(1000):
        rig.journal.mark_sent(seq)


async def _listed_again(rig: Rig) -> None:
    synced = rig.loop.synced
    rig.loop.poke()
    await eventually(lambda: rig.loop.synced > synced)
    await eventually(lambda: all(s.idle.is_set() for s in rig.loop.stations.values()))


async def test_a_lost_final_report_is_sent_again_while_the_cloud_lists_the_job(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig()
    (me,) = rig.printers
    printed = rig.cloud.add_job(me)
    refused = rig.cloud.add_job(me)
    rig.cloud.jobs[-1]["document"]["format"] = "text/x-unknown"
    rig.loop.poke()
    await eventually(lambda: rig.statuses(refused)[-1:] == ["failed"])
    await eventually(lambda: all(s.idle.is_set() for s in rig.loop.stations.values()))
    assert rig.statuses(printed) == ["received", "printing", "completed"]
    (detail,) = [
        f["detail"] for f in rig.frames() if f["job_id"] == str(refused) and f["state"] == "failed"
    ]
    assert "document-format text/x-unknown" in detail
    _written(rig)  # ... and lost: queues still lists both jobs

    sent = len(rig.sent)
    await _listed_again(rig)
    assert rig.statuses(printed) == ["completed"]
    assert [(f["state"], f["detail"]) for f in rig.frames() if f["job_id"] == str(refused)] == [
        ("failed", detail)
    ]
    assert len(rig.sent) > sent  # the sender was woken
    assert rig.cloud.fetched == [str(printed), str(refused)]  # nothing fetched or printed again
    assert [p.name for p in rig.printers[me].spool.glob("*.pdf")] == [f"{printed}.pdf"]

    # Listed again while the report still waits for a connection: not queued twice.
    await _listed_again(rig)
    assert rig.statuses(printed) == ["completed"] and rig.statuses(refused) == ["failed"]

    # Once per listing while the cloud lists them.
    _written(rig)
    await _listed_again(rig)
    assert rig.statuses(printed) == ["completed"] and rig.statuses(refused) == ["failed"]

    # The reports arrived: queues lists the jobs no more, nothing is reported again.
    _written(rig)
    rig.cloud.jobs = []
    await _listed_again(rig)
    await _listed_again(rig)
    assert rig.frames() == []
    assert rig.cloud.fetched == [str(printed), str(refused)]


async def test_a_job_not_listed_is_not_reported_again(make_rig: RigFactory) -> None:
    rig = await make_rig()
    (me,) = rig.printers
    gone, listed = uuid.uuid4(), rig.cloud.add_job(me)
    rig.journal.begin_job(gone, None, None)
    rig.journal.finish_job(JobChange(gone, "printed", "earlier"))
    await _listed_again(rig)
    await eventually(lambda: _printed(rig, me, listed))
    assert rig.statuses(gone) == []
    assert rig.statuses(listed) == ["received", "printing", "completed"]


async def test_without_login_codes_jobs_are_listed_only_when_asked(make_rig: RigFactory) -> None:
    rig = await make_rig(login_qr=False)
    await _listed_again(rig)
    listed = rig.cloud.listings
    await asyncio.sleep(0.5)  # the interval is an hour: no listing meanwhile
    assert rig.cloud.listings == listed
    assert rig.cloud.challenges == []


async def test_a_job_that_cannot_be_fetched_fails_for_good_after_bounded_retries(
    make_rig: RigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    rig = await make_rig(max_attempts=3, retry_after_s=0.01)
    (me,) = rig.printers
    empty = rig.cloud.add_job(me, content=b"")
    down = rig.cloud.add_job(me)
    rig.cloud.refused[str(down)] = 500
    good = rig.cloud.add_job(me)

    def settled() -> bool:
        rig.loop.poke()  # list again (the rig's interval is an hour)
        return all(
            (known := rig.journal.job(job)) is not None and known.state != "printing"
            for job in (empty, down, good)
        )

    await eventually(settled, what="every job reached a final state")
    # An empty document is not retried: nothing would ever print.
    assert rig.statuses(empty) == ["failed"] and rig.cloud.fetched.count(str(empty)) == 0
    empty_known = rig.journal.job(empty)
    assert empty_known is not None and "empty" in empty_known.detail
    # A download that keeps failing is tried max_attempts times, then failed with why.
    assert rig.cloud.fetched.count(str(down)) == 3
    assert rig.statuses(down) == ["failed"]
    down_known = rig.journal.job(down)
    assert down_known is not None and "after 3 attempts" in down_known.detail
    assert "500" in down_known.detail
    # The other job printed meanwhile, and nothing was logged as a crash.
    assert rig.statuses(good) == ["received", "printing", "completed"]
    assert not [r for r in caplog.records if r.exc_info]
    # Listed again, the failed jobs are never fetched again.
    before, listed = list(rig.cloud.fetched), rig.loop.synced
    rig.loop.poke()
    await eventually(lambda: rig.loop.synced > listed, what="one more listing")
    await eventually(lambda: all(s.idle.is_set() for s in rig.loop.stations.values()))
    assert rig.cloud.fetched == before


async def test_a_connector_starts_no_job_for_a_printer_it_cannot_reach(
    make_rig: RigFactory,
) -> None:
    rig = await make_rig(connector=True)
    (pid,) = rig.printers
    sim = rig.printers[pid]
    rig.targets[pid] = Target(sim, pid, pid, reachable=False)
    job = rig.cloud.add_job(pid)
    rig.loop.poke()
    await eventually(lambda: rig.loop.synced >= 1)
    await eventually(lambda: all(s.idle.is_set() for s in rig.loop.stations.values()))
    assert rig.cloud.fetched == [] and rig.journal.job(job) is None

    # Back, but gone again by the time the job is sent: it waits, it does not fail.
    calls = 0
    submit = sim.submit

    async def flaky(request: PrintRequest) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise DeviceUnreachable("ipp://bridged")
        return await submit(request)

    sim.submit = flaky  # type: ignore[method-assign]
    rig.targets[pid] = Target(sim, pid, pid, reachable=True)
    rig.loop.poke()
    await eventually(lambda: calls == 1)
    await eventually(lambda: all(s.idle.is_set() for s in rig.loop.stations.values()))
    assert "failed" not in rig.statuses(job)
    rig.loop.poke()
    await eventually(lambda: _printed(rig, pid, job))
    assert rig.statuses(job) == ["received", "printing", "received", "printing", "completed"]
