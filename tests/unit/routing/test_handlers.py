"""Routing's handlers against an in-memory repository: the decisions (direct, pull,
failover, offline and quota holds), re-decisions, the refusals, and what is announced."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.routing.domain.commands import SetRoutingPolicy
from services.routing.domain.errors import JobNotFound, PrinterNotFound
from services.routing.domain.events import JobRouted
from services.routing.domain.model import Policy, Printer
from services.routing.handlers import policies, replicas
from services.routing.handlers.decisions import Router
from services.routing.handlers.lifecycle import track_lifecycle
from shared.errors import PermanentEventError, ValidationFailed
from shared.events.contracts.jobs import JobCompleted, JobSent, JobSubmitted
from shared.events.contracts.quotas import QuotaStateChanged
from shared.events.contracts.registry import PrinterConnectionChanged, VirtualPrinterCreated
from shared.http.auth import Principal
from shared.printing.capabilities import Capabilities
from shared.printing.settings import JobSettings
from shared.readmodels.devices import TenantMismatch
from shared.testing.uow import InMemoryTransactions
from tests.support.fakes.routing import FakeRoutingRepository

TENANT = uuid.uuid4()
OWNER = uuid.uuid4()
CAPS = Capabilities(
    document_format_supported=["application/pdf"],
    media_supported=["iso_a4_210x297mm"],
    sides_supported=["one-sided"],
)
LONG_AGO = datetime.now(UTC) - timedelta(hours=1)
ROUTER = Router(default_offline_after_s=300)

Tx = InMemoryTransactions[FakeRoutingRepository]


@pytest.fixture
def tx() -> Tx:
    return InMemoryTransactions(FakeRoutingRepository())


def submitted(printer_id: uuid.UUID | None = None, **changes: Any) -> JobSubmitted:
    values: dict[str, Any] = {
        "job_id": uuid.uuid4(), "tenant_id": TENANT, "owner_id": OWNER,
        "at": datetime.now(UTC), "printer_id": printer_id, "virtual_printer_id": None,
        "release": "direct", "title": "report", "document_id": uuid.uuid4(),
        "document_sha256": "0" * 64, "document_size": 10, "document_format": "application/pdf",
        "pages": 3, "printed_pages": 3, "colour": False, "settings": JobSettings(),
    }  # fmt: skip
    return JobSubmitted(**{**values, **changes})


async def submit(tx: Tx, job: JobSubmitted) -> None:
    async with tx() as uow:
        await ROUTER.submitted(uow, job)


def routed(tx: Tx) -> list[JobRouted]:
    return [e for e in tx.announced(JobRouted) if isinstance(e, JobRouted)]


def admin(tenant: uuid.UUID = TENANT) -> Principal:
    return Principal(subject=str(uuid.uuid4()), tenant_id=tenant, roles=frozenset({"admin"}))


# --- first decisions -------------------------------------------------------------------


async def test_a_job_for_an_online_printer_is_queued_there(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, online=True)
    job = submitted(pid)
    await submit(tx, job)
    [decision] = routed(tx)
    assert (decision.job_id, decision.decision, decision.action, decision.printer_id) == (
        job.job_id, 1, "queue", pid,
    )  # fmt: skip
    assert decision.reason == "direct"
    assert tx.repo.jobs[job.job_id].state == "queued"
    assert tx.events[0].tenant_id == TENANT


async def test_a_redelivered_submission_is_decided_once(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT)
    job = submitted(pid)
    await submit(tx, job)
    await submit(tx, job)
    assert len(routed(tx)) == 1
    assert len(tx.repo.decisions[job.job_id]) == 1


async def test_a_pull_job_waits_for_its_owner_at_a_member(tx: Tx) -> None:
    vp = VirtualPrinterCreated(
        virtual_printer_id=uuid.uuid4(), tenant_id=TENANT, revision=1, name="Floor 2",
        members=[tx.repo.add_printer(TENANT)],
    )  # fmt: skip
    async with tx() as uow:
        await replicas.virtual_printer_described(uow, vp)
    await submit(tx, submitted(None, virtual_printer_id=vp.virtual_printer_id, release="pull"))
    [decision] = routed(tx)
    assert (decision.action, decision.reason) == ("hold", "pull")
    assert "at a printer of 'Floor 2'" in decision.detail


async def test_a_printer_offline_too_long_fails_over_to_a_capable_online_printer(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, online=False, since=LONG_AGO)
    alt = tx.repo.add_printer(TENANT, online=True, capabilities=CAPS, name="alt")
    tx.repo.policies[pid] = (TENANT, Policy("failover", 60, alt))
    await submit(tx, submitted(pid))
    [decision] = routed(tx)
    assert (decision.action, decision.printer_id, decision.reason) == ("queue", alt, "failover")


async def test_a_failover_printer_that_is_offline_too_holds_the_job(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, online=False, since=LONG_AGO)
    alt = tx.repo.add_printer(TENANT, online=False, since=LONG_AGO, capabilities=CAPS)
    tx.repo.policies[pid] = (TENANT, Policy("failover", 60, alt))
    await submit(tx, submitted(pid))
    [decision] = routed(tx)
    assert (decision.action, decision.reason) == ("hold", "printer_offline")
    assert "offline too" in decision.detail


async def test_an_offline_hold_is_lifted_when_the_printer_comes_back(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, online=False, since=LONG_AGO)
    job = submitted(pid)
    await submit(tx, job)
    assert (routed(tx)[0].action, routed(tx)[0].reason) == ("hold", "printer_offline")
    back = PrinterConnectionChanged(
        printer_id=pid, tenant_id=TENANT, connection_state="online", at=datetime.now(UTC)
    )
    async with tx() as uow:
        await replicas.connection_changed(uow, ROUTER, back)
    second = routed(tx)[1]
    assert (second.decision, second.action, second.printer_id, second.reason) == (
        2, "queue", pid, "printer_online",
    )  # fmt: skip
    assert tx.repo.jobs[job.job_id].state == "queued"


def quota(used: int, limit: int = 10, **changes: Any) -> QuotaStateChanged:
    values: dict[str, Any] = {
        "quota_id": uuid.UUID(int=7), "tenant_id": TENANT, "subject_kind": "user",
        "subject_id": OWNER, "metric": "pages", "period": "month",
        "period_start": datetime.now(UTC), "used": used, "limit": limit, "policy": "hold",
        "exceeded": used >= limit,
    }  # fmt: skip
    return QuotaStateChanged(**{**values, **changes})


async def test_a_job_over_a_holding_quota_is_held_until_the_quota_allows_it(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT)
    async with tx() as uow:
        await replicas.quota_changed(uow, ROUTER, quota(used=10))
    job = submitted(pid)
    await submit(tx, job)
    [held] = routed(tx)
    assert (held.action, held.reason) == ("hold", "quota")
    assert "over the monthly quota of 10 pages" in held.detail
    async with tx() as uow:
        await replicas.quota_changed(uow, ROUTER, quota(used=0, limit=100))
    released = routed(tx)[1]
    assert (released.decision, released.action, released.reason) == (2, "queue", "quota_override")


async def test_a_warning_quota_queues_the_job_and_says_so(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT)
    async with tx() as uow:
        await replicas.quota_changed(uow, ROUTER, quota(used=10, policy="warn"))
    await submit(tx, submitted(pid))
    [decision] = routed(tx)
    assert (decision.action, decision.reason) == ("queue", "quota_warning")


# --- refusals: nothing changes, nothing is announced ------------------------------------


async def test_a_job_for_another_tenants_printer_is_refused(tx: Tx) -> None:
    pid = tx.repo.add_printer(uuid.uuid4())
    job = submitted(pid)
    with pytest.raises(PermanentEventError, match="not in the job's tenant"):
        await submit(tx, job)
    assert tx.events == [] and job.job_id not in tx.repo.jobs
    assert tx.rollbacks == 1


async def test_a_connection_change_of_another_tenant_is_refused(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, online=True)
    await submit(tx, submitted(pid))
    before = tx.repo.printers[pid].printer
    change = PrinterConnectionChanged(
        printer_id=pid, tenant_id=uuid.uuid4(), connection_state="offline", at=datetime.now(UTC)
    )
    with pytest.raises(TenantMismatch, match=f"printer {pid} belongs to another tenant"):
        async with tx() as uow:
            await replicas.connection_changed(uow, ROUTER, change)
    assert tx.repo.printers[pid].printer == before
    assert len(routed(tx)) == 1


async def test_a_quota_of_another_tenant_is_refused(tx: Tx) -> None:
    async with tx() as uow:
        await replicas.quota_changed(uow, ROUTER, quota(used=1))
    with pytest.raises(PermanentEventError, match="belongs to another tenant"):
        async with tx() as uow:
            await replicas.quota_changed(uow, ROUTER, quota(used=0, tenant_id=uuid.uuid4()))
    assert tx.repo.quotas[uuid.UUID(int=7)].used == 1


# --- lifecycle, sweep --------------------------------------------------------------------


async def test_routing_follows_a_job_until_it_finishes(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT)
    job = submitted(pid)
    await submit(tx, job)
    common = {"job_id": job.job_id, "tenant_id": TENANT, "owner_id": OWNER, "at": job.at}
    async with tx() as uow:
        await track_lifecycle(uow, "job.sent", JobSent(**common, printer_id=pid))
    assert tx.repo.jobs[job.job_id].state == "sent"
    done = JobCompleted(
        **common, printer_id=pid, pages=3, printed_pages=3, colour_pages=0, sheets=3,
        copies=1, sides="one-sided", media=None,
    )  # fmt: skip
    async with tx() as uow:
        await track_lifecycle(uow, "job.completed", done)
    assert job.job_id not in tx.repo.jobs
    seen = await policies.job_routing(tx, job.job_id, admin())
    assert seen.where is None and [d.decision for d in seen.decisions] == [1]
    with pytest.raises(JobNotFound):
        await policies.job_routing(tx, job.job_id, admin(uuid.uuid4()))


async def test_a_sweep_moves_a_job_whose_printer_stayed_offline(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT, online=True)
    alt = tx.repo.add_printer(TENANT, online=True, capabilities=CAPS)
    await submit(tx, submitted(pid))
    tx.repo.policies[pid] = (TENANT, Policy("failover", 60, alt))
    tx.repo.printers[pid].printer = Printer(pid, TENANT, "printer", False, LONG_AGO, None)
    tx.repo.sweep_lock_taken = True
    assert await ROUTER.sweep(tx, 10, 30) == 0  # another replica sweeps this round
    tx.repo.sweep_lock_taken = False
    assert await ROUTER.sweep(tx, 10, 30) == 1
    moved = routed(tx)[-1]
    assert (moved.decision, moved.printer_id, moved.reason) == (2, alt, "failover")


# --- policies ---------------------------------------------------------------------------


async def test_a_policy_is_set_and_read_back(tx: Tx) -> None:
    pid = tx.repo.add_printer(TENANT)
    alt = tx.repo.add_printer(TENANT)
    who = admin()
    assert (await policies.get_policy(tx, pid, who, 300)).is_default
    cmd = SetRoutingPolicy(on_offline="failover", offline_after_s=60, failover_printer_id=alt)
    stored = await policies.set_policy(tx, pid, cmd, who)
    assert (stored.failover_printer_id, stored.updated_by) == (alt, who.subject)
    assert await policies.get_policy(tx, pid, who, 300) == stored
    await policies.delete_policy(tx, pid, who)
    assert (await policies.get_policy(tx, pid, who, 300)) == Policy.default(300)
    assert tx.events == []


@pytest.mark.parametrize(
    ("on_offline", "failover", "problem"),
    [
        ("failover", None, "required when on_offline is failover"),
        ("hold", "other", "only with on_offline failover"),
        ("failover", "self", "must be another printer"),
        ("failover", "foreign", "no such printer in this tenant"),
    ],
)
async def test_an_invalid_policy_is_refused(
    tx: Tx, on_offline: str, failover: str | None, problem: str
) -> None:
    pid = tx.repo.add_printer(TENANT)
    ids = {
        None: None, "self": pid, "other": tx.repo.add_printer(TENANT),
        "foreign": tx.repo.add_printer(uuid.uuid4()),
    }  # fmt: skip
    cmd = SetRoutingPolicy(
        on_offline=on_offline, offline_after_s=60, failover_printer_id=ids[failover]
    )  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed) as refused:
        await policies.set_policy(tx, pid, cmd, admin())
    assert refused.value.code == "validation-failed"
    assert [e.reason for e in refused.value.errors] == [problem]
    assert tx.repo.policies == {}


async def test_another_tenants_printer_is_not_found(tx: Tx) -> None:
    pid = tx.repo.add_printer(uuid.uuid4())
    cmd = SetRoutingPolicy(on_offline="hold", offline_after_s=60)
    with pytest.raises(PrinterNotFound) as missing:
        await policies.set_policy(tx, pid, cmd, admin())
    assert missing.value.code == "printer-not-found"
    with pytest.raises(PrinterNotFound):
        await policies.get_policy(tx, uuid.uuid4(), admin(), 300)
