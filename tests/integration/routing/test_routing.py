"""Routing on real Kafka and Postgres: upstream events (the registry's printers and
virtual printers, queues' jobs, counters' quotas) in, ``job.routed`` out on
``routing.decisions``, read back by job id (other tests share these topics)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.events.contracts.jobs import JobCanceled, JobSent
from shared.events.contracts.quotas import QuotaStateChanged
from shared.events.contracts.registry import (
    PrinterConnectionChanged,
    VirtualPrinterCreated,
)
from shared.events.envelope import new_envelope
from tests.support.kafka import dead_letters
from tests.support.routing import (
    SIMPLEX,
    Routing,
    only,
)
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


async def test_online_printer_gets_the_job_and_pull_print_is_held(routing: Routing) -> None:
    tenant = uuid.uuid4()
    pid = await routing.printer(tenant, online=True)
    direct = await routing.submit(tenant, printer_id=pid)
    vp = uuid.uuid4()
    created = VirtualPrinterCreated(
        virtual_printer_id=vp, tenant_id=tenant, revision=1, name="Floor 2", members=[pid]
    )
    await routing.publish(created)

    async def vp_known() -> bool:
        row = await routing.fetchrow(
            "SELECT 1 FROM virtual_printers WHERE virtual_printer_id = $1", vp
        )
        return row is not None

    await eventually(vp_known)
    pull = await routing.submit(tenant, virtual_printer_id=vp)
    assert only(await routing.decisions(direct, 1)) == ((1, "queue", str(pid), "direct"),)
    [held] = await routing.decisions(pull, 1)
    assert only([held]) == ((1, "hold", None, "pull"),)
    assert "'Floor 2'" in held["detail"]


async def test_offline_printer_fails_over_to_a_capable_alternative_or_holds(
    routing: Routing,
) -> None:
    tenant = uuid.uuid4()
    main = await routing.printer(tenant, online=False, name="Main")
    backup = await routing.printer(tenant, online=True, name="Backup")
    simplex = await routing.printer(tenant, online=True, caps=SIMPLEX, name="Simplex")
    await routing.put_policy(main, on_offline="failover", offline_after_s=60,
                             failover_printer_id=str(backup))  # fmt: skip
    moved = await routing.submit(tenant, printer_id=main, sides="two-sided-long-edge")
    [decision] = await routing.decisions(moved, 1)
    assert only([decision]) == ((1, "queue", str(backup), "failover"),)
    assert "'Main'" in decision["detail"] and "'Backup'" in decision["detail"]

    await routing.put_policy(main, on_offline="failover", offline_after_s=60,
                             failover_printer_id=str(simplex))  # fmt: skip
    held = await routing.submit(tenant, printer_id=main, sides="two-sided-long-edge")
    [decision] = await routing.decisions(held, 1)
    assert only([decision]) == ((1, "hold", None, "printer_offline"),)
    assert "cannot print this job" in decision["detail"] and "sides" in decision["detail"]

    # The printer comes back: its held job goes into its queue, without waiting for a sweep.
    await routing.connection(main, tenant, online=True, since=timedelta(0))
    decisions = await routing.decisions(held, 2)
    assert only(decisions)[1] == (2, "queue", str(main), "printer_online")
    assert (await routing.routing_of(held))["state"] == "queued"


async def test_sweep_moves_a_queued_job_off_a_printer_that_stays_offline(
    routing: Routing,
) -> None:
    tenant = uuid.uuid4()
    main = await routing.printer(tenant, online=True)
    backup = await routing.printer(tenant, online=True)
    await routing.put_policy(main, on_offline="failover", offline_after_s=1,
                             failover_printer_id=str(backup))  # fmt: skip
    job = await routing.submit(tenant, printer_id=main)
    assert only(await routing.decisions(job, 1)) == ((1, "queue", str(main), "direct"),)
    await routing.connection(main, tenant, online=False, since=timedelta(0))
    decisions = await routing.decisions(job, 2)
    assert only(decisions)[1] == (2, "queue", str(backup), "failover")


def quota_state(tenant: uuid.UUID, owner: uuid.UUID, **kw: Any) -> QuotaStateChanged:
    fields: dict[str, Any] = {
        "quota_id": uuid.uuid4(), "tenant_id": tenant, "subject_kind": "user",
        "subject_id": owner, "metric": "pages", "period": "month",
        "period_start": datetime.now(UTC).replace(day=1), "used": 512, "limit": 500,
        "policy": "hold", "exceeded": True,
    }  # fmt: skip
    fields.update(kw)
    return QuotaStateChanged(**fields)


async def test_quota_holds_until_an_override_and_warns(routing: Routing) -> None:
    tenant = uuid.uuid4()
    pid = await routing.printer(tenant, online=True)
    owner, warned = uuid.uuid4(), uuid.uuid4()
    hold = quota_state(tenant, owner)
    warn = quota_state(tenant, warned, policy="warn")
    await routing.publish(hold, source="counters")
    await routing.publish(warn, source="counters")

    async def quotas_known() -> bool:
        row = await routing.fetchrow(
            "SELECT count(*) FROM quotas WHERE quota_id = ANY($1::uuid[])",
            [hold.quota_id, warn.quota_id],
        )
        return row is not None and row[0] == 2

    await eventually(quotas_known)
    held = await routing.submit(tenant, printer_id=pid, owner=owner)
    printed = await routing.submit(tenant, printer_id=pid, owner=warned)
    [decision] = await routing.decisions(held, 1)
    assert only([decision]) == ((1, "hold", None, "quota"),)
    assert decision["detail"] == "over the monthly quota of 500 pages: 512 used"
    [decision] = await routing.decisions(printed, 1)
    assert only([decision]) == ((1, "queue", str(pid), "quota_warning"),)
    assert "over the monthly quota of 500 pages" in decision["detail"]

    override = hold.model_copy(update={"override_until": datetime.now(UTC) + timedelta(days=1)})
    await routing.publish(override, source="counters")
    decisions = await routing.decisions(held, 2)
    assert only(decisions)[1] == (2, "queue", str(pid), "quota_override")


async def test_a_canceled_job_is_not_routed_again(routing: Routing) -> None:
    tenant = uuid.uuid4()
    pid = await routing.printer(tenant, online=False)
    canceled = await routing.submit(tenant, printer_id=pid)
    kept = await routing.submit(tenant, printer_id=pid)
    for job in (canceled, kept):
        assert only(await routing.decisions(job, 1)) == ((1, "hold", None, "printer_offline"),)
    await routing.publish(JobCanceled(
        job_id=canceled.job_id, tenant_id=tenant, owner_id=canceled.owner_id,
        at=datetime.now(UTC), previous_state="held", by_user_id=canceled.owner_id,
        printer_id=None), source="queues")  # fmt: skip

    async def forgotten() -> bool:
        return (await routing.routing_of(canceled))["state"] == "finished"

    await eventually(forgotten)
    await routing.connection(pid, tenant, online=True, since=timedelta(0))
    assert only(await routing.decisions(kept, 2))[1][3] == "printer_online"
    # Several sweeps later the canceled job still has its one decision.
    assert len(await routing.decisions(canceled, 1, settle_s=2)) == 1
    assert len((await routing.routing_of(canceled))["decisions"]) == 1


async def test_a_redelivered_submission_is_decided_once(routing: Routing) -> None:
    tenant = uuid.uuid4()
    pid = await routing.printer(tenant, online=True)
    job = await routing.submit(tenant, printer_id=pid)
    assert len(await routing.decisions(job, 1)) == 1
    # The same envelope again (a redelivery), then the same job in a new envelope.
    first = new_envelope(job, source="queues", tenant_id=tenant)
    await routing.send(first, job.topic)
    await routing.send(first, job.topic)
    await routing.publish(job, source="queues")
    sending = JobSent(
        job_id=job.job_id,
        tenant_id=tenant,
        owner_id=job.owner_id,
        at=datetime.now(UTC),
        printer_id=pid,
    )
    await routing.publish(sending, source="queues")

    async def sent() -> bool:
        # job.sent follows the repeats on the job's partition: once applied, they were too.
        return (await routing.routing_of(job))["state"] == "sent"

    await eventually(sent)
    assert len(await routing.decisions(job, 1, settle_s=1)) == 1
    assert len((await routing.routing_of(job))["decisions"]) == 1


async def test_an_event_contradicting_a_printers_tenant_is_parked(routing: Routing) -> None:
    tenant = uuid.uuid4()
    pid = await routing.printer(tenant, online=True)
    intruder = uuid.uuid4()
    await routing.publish(PrinterConnectionChanged(
        printer_id=pid, tenant_id=intruder, connection_state="offline",
        at=datetime.now(UTC)))  # fmt: skip
    parked = await dead_letters(
        routing.bootstrap,
        consumer=f"{routing.schema}-replicas",
        done=lambda letters: any(str(pid) in d.reason for d in letters),
    )
    reasons = [d.reason for d in parked]
    assert any(f"printer {pid} belongs to another tenant" in r for r in reasons)
    row = await routing.fetchrow(
        "SELECT tenant_id, connection_state FROM printers WHERE printer_id = $1", pid
    )
    assert row is not None and (row["tenant_id"], row["connection_state"]) == (tenant, "online")
