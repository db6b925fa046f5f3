"""The queues' handlers against an in-memory repository: a job's state transitions
(routing's decisions, printers' reports, cancel, release, expiry), the refusals with
their codes, what is announced, and that nothing is announced on a refusal."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.queues.domain.commands import SubmitJob
from services.queues.domain.errors import (
    IdempotencyKeyReused,
    JobNotFound,
    PrinterNotReady,
    ReleaseConflict,
    SettingsRejected,
    TargetNotFound,
    TransitionRefused,
)
from services.queues.domain.events import (
    DeviceNotified,
    JobCanceled,
    JobCompleted,
    JobExpired,
    JobHeld,
    JobMoved,
    JobQueued,
    JobSent,
    JobSubmitted,
)
from services.queues.domain.model import Job, VirtualPrinter
from services.queues.handlers.idempotency import IdempotencyKey
from services.queues.handlers.jobs import cancel_job, submit_job
from services.queues.handlers.maintenance import expire_jobs
from services.queues.handlers.release import open_session, release_at
from services.queues.handlers.routing import apply_routed, apply_status
from shared.errors import PermanentEventError
from shared.events.contracts.gateway import DeviceJobStatusReported
from shared.events.contracts.jobs import (
    JobFailed,
    JobRouted,
    JobRoutedV1,
    PolicyAdjustment,
    PolicyRefusal,
)
from shared.events.contracts.sessions import DeviceLoginApproved
from shared.http.auth import Principal
from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings
from shared.testing.uow import InMemoryTransactions
from tests.support.fakes.queues import FakeQueuesRepository

TENANT = uuid.uuid4()
OWNER = uuid.uuid4()
CAPS = Capabilities(
    document_format_supported=["application/pdf"],
    media_supported=["iso_a4_210x297mm"],
    sides_supported=["one-sided"],
)
HELD_TTL_S = 3600

Tx = InMemoryTransactions[FakeQueuesRepository]


@pytest.fixture
def tx() -> Tx:
    return InMemoryTransactions(FakeQueuesRepository())


def owner(tenant: uuid.UUID = TENANT, subject: uuid.UUID = OWNER) -> Principal:
    return Principal(subject=str(subject), tenant_id=tenant, scopes=frozenset({"jobs:submit"}))


def a_job(tx: Tx, state: str = "pending", **changes: Any) -> Job:
    """A job already in the repository (as if earlier handlers had put it there)."""
    job = Job(
        id=uuid.uuid4(), tenant_id=TENANT, owner_id=OWNER, document_id=uuid.uuid4(),
        release="direct", title="t", pages=2, settings=JobSettings(), state=state,  # type: ignore[arg-type]
        printer_id=changes.pop("printer_id", None), virtual_printer_id=None,
        submitted_at=datetime.now(UTC),
    )  # fmt: skip
    job = replace(job, **changes)
    tx.repo.jobs[job.id] = job
    return job


def decision(
    job: Job, number: int, action: str, printer_id: uuid.UUID | None = None, **kw: Any
) -> JobRouted:
    return JobRouted(
        job_id=job.id, tenant_id=kw.pop("tenant_id", job.tenant_id), decision=number,
        action=action, printer_id=printer_id, reason=kw.pop("reason", "direct"),
        detail=kw.pop("detail", ""), at=datetime.now(UTC),
    )  # type: ignore[arg-type]  # fmt: skip


def report(
    job: Job, state: str, device: uuid.UUID | None = None, **kw: Any
) -> DeviceJobStatusReported:
    return DeviceJobStatusReported(
        device_id=device or job.printer_id, tenant_id=job.tenant_id, job_id=job.id,
        state=state, reported_at=datetime.now(UTC), **kw,
    )  # type: ignore[arg-type]  # fmt: skip


async def routed(tx: Tx, data: JobRouted) -> None:
    async with tx() as uow:
        await apply_routed(uow, data, HELD_TTL_S)


async def reported(tx: Tx, data: DeviceJobStatusReported) -> None:
    async with tx() as uow:
        await apply_status(uow, data)


# --- routing's decisions ----------------------------------------------------------------


async def test_a_queue_decision_queues_the_job_and_tells_the_printer(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, CAPS)
    job = a_job(tx)
    await routed(tx, decision(job, 1, "queue", pid, detail="online"))
    after = tx.repo.jobs[job.id]
    assert (after.state, after.printer_id, after.decision) == ("queued", pid, 1)
    [queued] = tx.announced(JobQueued)
    assert (queued.printer_id, queued.reason, queued.detail) == (pid, "direct", "online")
    [hint] = tx.announced(DeviceNotified)
    assert (hint.device_id, hint.kind, hint.job_ids) == (pid, "work_available", [job.id])
    assert [(c.state, c.printer_id) for c in tx.repo.history] == [("queued", pid)]


async def test_a_first_decision_applies_what_the_print_policies_changed(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, CAPS)
    job = a_job(tx, printer_id=pid, settings=JobSettings(copies=4, print_color_mode="color"))
    policy = {"policy_id": uuid.uuid4(), "policy_revision": 3}
    adjustments = [
        PolicyAdjustment(**policy, policy_name="Few copies", rule="max_copies",
                         setting="copies", before=4, after=2),
        PolicyAdjustment(**policy, policy_name="Colour at the printer",
                         rule="colour_release_at_printer", setting="release", before="direct",
                         after="secure"),
    ]  # fmt: skip
    first = decision(job, 1, "queue", pid).model_copy(
        update={"policy_version": 7, "adjustments": adjustments}
    )
    await routed(tx, first)
    after = tx.repo.jobs[job.id]
    assert (after.state, after.settings.copies, after.release) == ("queued", 2, "secure")
    assert after.settings.print_color_mode == "color"
    assert after.policy_version == 7 and after.policy_refusal is None
    assert [a["policy_name"] for a in after.policy_adjustments] == [
        "Few copies", "Colour at the printer"]  # fmt: skip
    assert tx.repo.history[-1].detail["policy_version"] == 7
    assert tx.announced(DeviceNotified) == []  # secure: it waits for its owner's login
    # A later decision does not apply them again, nor forget them.
    await routed(tx, decision(job, 2, "queue", pid))
    assert tx.repo.jobs[job.id].policy_adjustments == after.policy_adjustments


async def test_a_refusal_fails_the_job_naming_the_policy(tx: Tx) -> None:
    job = a_job(tx)
    refusal = PolicyRefusal(policy_id=uuid.uuid4(), policy_name="Short jobs", policy_revision=1,
                            rule="max_pages", reason="the job prints 12 pages")  # fmt: skip
    said = "refused by policy 'Short jobs': the job prints 12 pages"
    refuse = decision(job, 1, "refuse", reason="policy", detail=said).model_copy(
        update={"policy_version": 2, "refusal": refusal}
    )
    await routed(tx, refuse)
    after = tx.repo.jobs[job.id]
    assert (after.state, after.state_detail, after.policy_version) == ("failed", said, 2)
    assert after.policy_refusal is not None and after.policy_refusal["policy_name"] == "Short jobs"
    [failed] = tx.announced(JobFailed)
    assert (failed.reason, failed.printer_id) == (said, None)
    assert tx.announced(DeviceNotified) == []


async def test_a_first_version_decision_is_still_applied(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, CAPS)
    job = a_job(tx)
    old = JobRoutedV1(job_id=job.id, tenant_id=TENANT, decision=1, action="queue",
                      printer_id=pid, reason="direct", at=datetime.now(UTC))  # fmt: skip
    await routed(tx, old.upgraded())
    after = tx.repo.jobs[job.id]
    assert (after.state, after.policy_version, after.policy_adjustments) == ("queued", None, ())


async def test_a_hold_decision_holds_the_job_until_it_expires(tx: Tx) -> None:
    job = a_job(tx)
    await routed(tx, decision(job, 1, "hold", reason="quota", detail="over quota"))
    after = tx.repo.jobs[job.id]
    assert (after.state, after.hold_reason, after.state_detail) == ("held", "quota", "over quota")
    [held] = tx.announced(JobHeld)
    assert held.reason == "quota" and held.expires_at == after.expires_at
    assert after.expires_at is not None and after.expires_at > datetime.now(UTC)
    assert tx.announced(DeviceNotified) == []


async def test_a_stale_or_repeated_decision_changes_nothing(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, CAPS)
    job = a_job(tx, "queued", printer_id=pid, decision=2)
    await routed(tx, decision(job, 2, "hold", reason="printer_offline"))
    await routed(tx, decision(job, 1, "hold", reason="printer_offline"))
    assert tx.repo.jobs[job.id] == job
    assert tx.events == []


async def test_a_decision_for_a_job_that_reached_its_printer_changes_nothing(tx: Tx) -> None:
    pid, other = tx.repo.add_printer(TENANT, CAPS), tx.repo.add_printer(TENANT, CAPS)
    job = a_job(tx, "sent", printer_id=pid, decision=1)
    await routed(tx, decision(job, 2, "queue", other, reason="failover"))
    assert tx.repo.jobs[job.id] == job and tx.events == []


async def test_a_failover_moves_a_queued_job_to_the_other_printer(tx: Tx) -> None:
    pid, alt = tx.repo.add_printer(TENANT, CAPS), tx.repo.add_printer(TENANT, CAPS)
    job = a_job(tx, "queued", printer_id=pid, decision=1)
    await routed(tx, decision(job, 2, "queue", alt, reason="failover"))
    [moved] = tx.announced(JobMoved)
    assert (moved.from_printer_id, moved.to_printer_id, moved.reason) == (pid, alt, "failover")
    [queued] = tx.announced(JobQueued)
    assert (queued.printer_id, queued.reason) == (alt, "failover")
    assert (tx.repo.jobs[job.id].printer_id, tx.repo.jobs[job.id].decision) == (alt, 2)


@pytest.mark.parametrize(
    "case", ["unknown job", "another tenant", "foreign printer", "no printer named"]
)
async def test_an_impossible_decision_is_refused_and_announces_nothing(tx: Tx, case: str) -> None:
    job = a_job(tx)
    foreign = tx.repo.add_printer(uuid.uuid4(), CAPS)
    data = {
        "unknown job": decision(replace(job, id=uuid.uuid4()), 1, "hold"),
        "another tenant": decision(job, 1, "hold", tenant_id=uuid.uuid4()),
        "foreign printer": decision(job, 1, "queue", foreign),
        "no printer named": decision(job, 1, "queue", None),
    }[case]
    with pytest.raises(PermanentEventError):
        await routed(tx, data)
    assert tx.events == [] and tx.repo.jobs[job.id] == job and tx.repo.history == []


# --- the printer's reports ---------------------------------------------------------------


async def test_a_printers_reports_move_its_job_to_completion(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, CAPS)
    job = a_job(tx, "queued", printer_id=pid, decision=1)
    await reported(tx, report(job, "received"))
    await reported(tx, report(job, "received"))  # repeated: nothing more
    await reported(tx, report(job, "printing"))
    await reported(tx, report(job, "completed"))
    await reported(tx, report(job, "printing"))  # late: nothing more
    assert tx.repo.jobs[job.id].state == "completed"
    assert [type(e.data).__name__ for e in tx.events] == ["JobSent", "JobPrinting", "JobCompleted"]
    [done] = tx.announced(JobCompleted)
    assert (done.printed_pages, done.sheets, done.copies) == (2, 2, 1)
    assert tx.repo.jobs[job.id].finished_at is not None


async def test_a_report_from_another_printer_or_connector_is_refused(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, CAPS)
    job = a_job(tx, "queued", printer_id=pid, decision=1)
    with pytest.raises(PermanentEventError, match="is not at printer"):
        await reported(tx, report(job, "received", device=uuid.uuid4()))
    tx.repo.holders[pid] = uuid.uuid4()
    with pytest.raises(PermanentEventError, match="does not hold printer"):
        await reported(tx, report(job, "received", via_connector=uuid.uuid4()))
    assert tx.events == [] and tx.repo.jobs[job.id] == job


async def test_a_failure_report_says_why(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, CAPS)
    job = a_job(tx, "sent", printer_id=pid, decision=1)
    await reported(tx, report(job, "failed", detail="paper jam"))
    after = tx.repo.jobs[job.id]
    assert (after.state, after.state_detail) == ("failed", "paper jam")
    assert tx.repo.history[-1].detail == {"detail": "paper jam"}


# --- the owner's side ---------------------------------------------------------------------


async def test_canceling_a_job_at_the_printer_tells_the_printer_to_drop_it(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, CAPS)
    job = a_job(tx, "sent", printer_id=pid)
    after = await cancel_job(tx, job.id, owner())
    assert after.state == "canceled" and after.finished_at is not None
    [canceled] = tx.announced(JobCanceled)
    assert (canceled.previous_state, canceled.by_user_id) == ("sent", OWNER)
    [hint] = tx.announced(DeviceNotified)
    assert (hint.kind, hint.job_ids) == ("job_canceled", [job.id])


async def test_a_finished_job_cannot_be_canceled(tx: Tx) -> None:
    job = a_job(tx, "completed")
    with pytest.raises(TransitionRefused) as refused:
        await cancel_job(tx, job.id, owner())
    assert refused.value.code == "invalid-transition"
    assert tx.events == [] and tx.repo.jobs[job.id] == job


async def test_another_users_job_is_not_found(tx: Tx) -> None:
    job = a_job(tx, "queued")
    with pytest.raises(JobNotFound) as missing:
        await cancel_job(tx, job.id, owner(subject=uuid.uuid4()))
    assert missing.value.code == "job-not-found"
    with pytest.raises(JobNotFound):
        await cancel_job(tx, job.id, owner(tenant=uuid.uuid4()))
    assert tx.events == []


async def test_a_submitted_job_is_pending_and_announced_once_per_key(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, CAPS)
    doc = tx.repo.add_document(TENANT, OWNER, pages=3)
    cmd = SubmitJob(document_id=doc.id, printer_id=pid, title="mine")
    key = IdempotencyKey("k-1", ttl_s=60, request={"body": 1})
    first = await submit_job(tx, cmd, doc.id, owner(), key)
    again = await submit_job(tx, cmd, doc.id, owner(), key)
    assert (first.replayed, again.replayed, again.job.id) == (False, True, first.job.id)
    assert first.job.state == "pending" and first.job.title == "mine"
    [submitted] = tx.announced(JobSubmitted)
    assert (submitted.job_id, submitted.printer_id, submitted.pages) == (first.job.id, pid, 3)
    assert submitted.document_sha256 == doc.sha256
    assert len(tx.repo.jobs) == 1 and [c.state for c in tx.repo.history] == ["pending"]


@pytest.mark.parametrize(
    ("target", "error", "code"),
    [
        ("unknown", TargetNotFound, "printer-not-found"),
        ("foreign", TargetNotFound, "printer-not-found"),
        ("not registered", TargetNotFound, "printer-not-found"),
        ("no capabilities", PrinterNotReady, "printer-not-ready"),
        ("duplex refused", SettingsRejected, "settings-not-supported"),
    ],
)
async def test_a_submission_the_target_cannot_take_is_refused(
    tx: Tx, target: str, error: type[Exception], code: str
) -> None:
    printers = {
        "unknown": uuid.uuid4(),
        "foreign": tx.repo.add_printer(uuid.uuid4(), CAPS),
        "not registered": tx.repo.add_printer(TENANT, CAPS, revision=0),
        "no capabilities": tx.repo.add_printer(TENANT, None),
        "duplex refused": tx.repo.add_printer(TENANT, CAPS),
    }
    doc = tx.repo.add_document(TENANT, OWNER)
    settings = (
        JobSettings(sides="two-sided-long-edge") if target == "duplex refused" else JobSettings()
    )
    cmd = SubmitJob(document_id=doc.id, printer_id=printers[target], settings=settings)
    with pytest.raises(error) as refused:
        await submit_job(tx, cmd, doc.id, owner())
    assert getattr(refused.value, "code", None) == code
    assert tx.events == [] and tx.repo.jobs == {}


async def test_a_release_of_jobs_that_are_not_waiting_is_refused_whole(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, CAPS)
    vp = VirtualPrinter(uuid.uuid4(), TENANT, "floor", (pid,))
    tx.repo.virtual_printers[vp.id] = vp
    held = a_job(tx, "held", virtual_printer_id=vp.id, release="pull", hold_reason="pull")
    done = a_job(tx, "completed", virtual_printer_id=vp.id, release="pull")
    with pytest.raises(ReleaseConflict) as refused:
        await release_at(tx, tenant_id=TENANT, owner_id=OWNER, printer_id=pid,
                         job_ids=[held.id, done.id])  # fmt: skip
    assert [e.field for e in refused.value.errors] == [f"job_ids.{done.id}"]
    assert tx.events == [] and tx.repo.jobs[held.id] == held
    released = await release_at(tx, tenant_id=TENANT, owner_id=OWNER, printer_id=pid,
                                job_ids=[held.id])  # fmt: skip
    assert [(j.state, j.printer_id) for j in released] == [("queued", pid)]
    assert [type(e.data).__name__ for e in tx.events] == ["JobMoved", "JobQueued", "DeviceNotified"]


async def test_a_login_releasing_all_moves_the_users_pull_jobs_to_that_printer(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, CAPS)
    vp = VirtualPrinter(uuid.uuid4(), TENANT, "floor", (pid,))
    tx.repo.virtual_printers[vp.id] = vp
    held = a_job(tx, "held", virtual_printer_id=vp.id, release="pull", hold_reason="pull")
    at = datetime.now(UTC)
    login = DeviceLoginApproved(
        session_id=uuid.uuid4(), tenant_id=TENANT, printer_id=pid, user_id=OWNER,
        display_name="Ada", action="release_all", approved_at=at,
        expires_at=at + timedelta(minutes=5),
    )  # fmt: skip
    async with tx() as uow:
        await open_session(uow, login)
    async with tx() as uow:
        await open_session(uow, login)  # redelivered: recorded once, nothing more
    assert tx.repo.jobs[held.id].state == "queued"
    kinds = [e.data.kind for e in tx.events if isinstance(e.data, DeviceNotified)]
    assert kinds == ["session_opened", "work_available"]
    assert len(tx.announced(JobMoved)) == 1


async def test_held_jobs_past_their_time_expire(tx: Tx) -> None:
    now = datetime.now(UTC)
    due = a_job(tx, "held", expires_at=now - timedelta(seconds=1))
    later = a_job(tx, "held", expires_at=now + timedelta(hours=1))
    assert await expire_jobs(tx, now) == 1
    assert (tx.repo.jobs[due.id].state, tx.repo.jobs[later.id].state) == ("expired", "held")
    [expired] = tx.announced(JobExpired)
    assert (expired.job_id, expired.previous_state) == (due.id, "held")


def test_every_announced_type_is_one_the_queues_publish() -> None:
    from services.queues.domain.events import EVENTS

    assert {JobSent, JobSubmitted, JobQueued, JobHeld, DeviceNotified} <= set(EVENTS)


async def test_a_key_reused_for_another_request_is_refused(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, CAPS)
    doc = tx.repo.add_document(TENANT, OWNER)
    cmd = SubmitJob(document_id=doc.id, printer_id=pid)
    await submit_job(tx, cmd, doc.id, owner(), IdempotencyKey("k", 60, {"body": 1}))
    with pytest.raises(IdempotencyKeyReused) as refused:
        await submit_job(tx, cmd, doc.id, owner(), IdempotencyKey("k", 60, {"body": 2}))
    assert refused.value.code == "idempotency-key-reused"
    assert len(tx.announced(JobSubmitted)) == 1 and len(tx.repo.jobs) == 1
