"""Sharing at the queues, on real Kafka and Postgres: the read models of auth.groups
and of the registry's sharing events decide who may submit to a printer or virtual
printer, list by it, make a reservation at it and release at it. A printer not shared
with a person answers them exactly as an unknown one (404); an administrator is not
limited. A person taken out of a group while their pull job is held keeps the job held,
and its release is refused naming the reason."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from shared.events.contracts.groups import GroupCreated, GroupUpdated
from shared.events.contracts.registry import PrinterSharingChanged, VirtualPrinterSharingChanged
from shared.sharing import SharedWith
from tests.support.queues import Queues

pytestmark = pytest.mark.integration


async def _group(
    q: Queues,
    members: list[uuid.UUID],
    groups: Sequence[uuid.UUID] = (),
    group_id: uuid.UUID | None = None,
    revision: int = 1,
) -> uuid.UUID:
    """A group as auth announces it, once the queues' read model has it."""
    group_id = group_id or uuid.uuid4()
    state = {
        "group_id": group_id, "tenant_id": q.tenant, "revision": revision,
        "name": f"group-{group_id}", "source": "local",
        "member_user_ids": sorted(members), "member_group_ids": sorted(groups),
    }  # fmt: skip
    event = GroupCreated(**state) if revision == 1 else GroupUpdated(**state, changed=["x"])
    await q.publish(event)
    await q.until("SELECT 1 FROM user_groups WHERE id = $1 AND revision = $2", group_id, revision)
    return group_id


async def _share(q: Queues, printer: uuid.UUID, revision: int = 1, **shared: object) -> None:
    await q.publish(
        PrinterSharingChanged(
            printer_id=printer, tenant_id=q.tenant, revision=revision,
            shared_with=SharedWith(tenant=False, **shared),
        )
    )  # fmt: skip
    await q.until(
        "SELECT 1 FROM sharing WHERE subject_id = $1 AND revision = $2", printer, revision
    )


async def test_only_people_a_printer_is_shared_with_submit_list_and_reserve(q: Queues) -> None:
    ann, bob = await q.user(name="Ann"), await q.user(name="Bob")
    boss = await q.user(roles=["admin", "user"])
    printer, open_printer = await q.printer(), await q.printer()
    inner = await _group(q, [ann.id])
    outer = await _group(q, [], [inner])  # ann is in it through the inner group
    await _share(q, printer, group_ids=[outer])

    await q.submit(ann, printer_id=str(printer))
    await q.submit(boss, printer_id=str(printer))  # administrators are not limited
    await q.submit(bob, printer_id=str(open_printer))  # never narrowed: the whole tenant
    refused = await q.submit(bob, 404, printer_id=str(printer))
    assert refused["errors"] == [{"field": "printer_id", "reason": "unknown printer"}]
    unknown = await q.submit(bob, 404, printer_id=str(uuid.uuid4()))
    assert (refused["code"], refused["detail"]) == (unknown["code"], unknown["detail"])

    listing = await q.client.get(
        "/v1/jobs", params={"printer_id": str(printer)}, headers=bob.headers
    )
    assert listing.status == 404
    mine = await q.client.get("/v1/jobs", params={"printer_id": str(printer)}, headers=ann.headers)
    assert mine.status == 200 and len((await mine.json())["items"]) == 1

    deadline = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    body = {"printer_id": str(printer), "max_count": 1, "max_pages": 5, "deadline": deadline}
    reserved = await q.client.post("/v1/reservations", json=body, headers=bob.headers)
    assert reserved.status == 404
    assert (await q.client.post("/v1/reservations", json=body, headers=ann.headers)).status == 201

    # Shared by name instead: bob now, ann no more.
    await _share(q, printer, revision=2, user_ids=[bob.id])
    await q.submit(bob, printer_id=str(printer))
    await q.submit(ann, 404, printer_id=str(printer))


async def test_a_held_job_stays_held_when_its_owner_leaves_the_group(q: Queues) -> None:
    ann = await q.user(name="Ann")
    left, right = await q.printer(), await q.printer()
    vp = await q.virtual_printer([left, right])
    group = await _group(q, [ann.id])
    await q.publish(
        VirtualPrinterSharingChanged(
            virtual_printer_id=vp, tenant_id=q.tenant, revision=1,
            shared_with=SharedWith(tenant=False, group_ids=[group]),
        )
    )  # fmt: skip
    await q.until("SELECT 1 FROM sharing WHERE subject_id = $1", vp)
    jobs = [await q.submit(ann, virtual_printer_id=str(vp)) for _ in range(2)]
    for job in jobs:
        await q.route(job["id"], 1, "hold", reason="pull")
        await q.state(job["id"], "held")
    one = {"job_ids": [jobs[0]["id"]]}
    resp = await q.client.post(f"/v1/printers/{left}/release", json=one, headers=ann.headers)
    assert resp.status == 200, await resp.text()
    await q.state(jobs[0]["id"], "queued")

    await _group(q, [], group_id=group, revision=2)  # ann leaves the group
    two = {"job_ids": [jobs[1]["id"]]}
    refused = await q.client.post(f"/v1/printers/{right}/release", json=two, headers=ann.headers)
    assert refused.status == 409
    assert (await refused.json())["errors"] == [
        {
            "field": f"job_ids.{jobs[1]['id']}",
            "reason": "the job's virtual printer is no longer shared with you",
        }
    ]
    await q.state(jobs[1]["id"], "held")
    # A member printer not shared with her is not found for her at all.
    await _share(q, right, user_ids=[uuid.uuid4()])
    gone = await q.client.post(f"/v1/printers/{right}/release", json=two, headers=ann.headers)
    assert gone.status == 404
    # Her own job stays hers to read and cancel.
    job = await (await q.client.get(f"/v1/jobs/{jobs[1]['id']}", headers=ann.headers)).json()
    assert job["state"] == "held"
