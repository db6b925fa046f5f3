"""Quotas count what really prints, on every path to a printer: a pull job a quota holds
is not its owner's to release, and a reservation's jobs wait for routing like any job."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.testing.documents import pdf
from tests.support.kafka import envelopes
from tests.support.queues import Queues, about

pytestmark = pytest.mark.integration


async def test_a_pull_job_held_by_a_quota_is_not_released_by_its_owner(q: Queues) -> None:
    ada = await q.user()
    left, right = await q.printer(), await q.printer()
    vp = await q.virtual_printer([left, right])
    over = await q.submit(ada, virtual_printer_id=str(vp))
    await q.route(over["id"], 1, "hold", reason="quota")
    await q.state(over["id"], "held")
    one = {"job_ids": [over["id"]]}
    refused = await q.client.post(f"/v1/printers/{left}/release", json=one, headers=ada.headers)
    assert refused.status == 409, await refused.text()
    problem = await refused.json()
    assert problem["errors"][0]["field"] == f"job_ids.{over['id']}"
    assert "quota" in problem["errors"][0]["reason"]
    # "Release all" (and a phone login's release_all) passes over it too.
    everything = await q.client.post(
        f"/v1/printers/{left}/release", json={"all": True}, headers=ada.headers
    )
    assert everything.status == 200 and (await everything.json())["released"] == []
    await q.state(over["id"], "held")
    # The quota eased, or an administrator overrode it: routing holds it for pull only,
    # and now its owner may release it.
    await q.route(over["id"], 2, "hold", reason="pull")
    await q.until(
        "SELECT 1 FROM jobs WHERE id = $1 AND hold_reason = 'pull'", uuid.UUID(over["id"])
    )
    done = await q.client.post(f"/v1/printers/{right}/release", json=one, headers=ada.headers)
    assert done.status == 200, await done.text()
    await q.state(over["id"], "queued")


async def test_reservation_jobs_go_through_routing(q: Queues) -> None:
    ada = await q.user()
    printer = await q.printer()
    for title in ("first", "second"):
        await q.upload(ada, pdf(2, title), keep="true", title=title)
    deadline = datetime.now(UTC) + timedelta(minutes=10)
    body = {"printer_id": str(printer), "max_count": 5, "max_pages": 100,
            "deadline": deadline.isoformat()}  # fmt: skip
    resp = await q.client.post("/v1/reservations", json=body, headers=ada.headers)
    assert resp.status == 201, await resp.text()
    first, second = (await resp.json())["jobs"]
    # Nothing reaches the printer before routing has decided (quota, offline policy).
    assert {first["state"], second["state"]} == {"pending"}
    listing = await (await q.client.get("/v1/devices/me/jobs", headers=q.device(printer))).json()
    assert listing["items"] == []
    [submitted] = await envelopes(
        q.bootstrap, "queues.jobs", about(first["id"], "job.submitted"), count=1
    )
    assert submitted["type"] == "job.submitted"
    assert submitted["data"]["reservation_id"] is not None
    assert submitted["data"]["printed_pages"] == 2  # counted by the server
    # Routing holds one for a quota and queues the other: each is applied.
    await q.route(first["id"], 1, "hold", reason="quota")
    await q.route(second["id"], 1, printer_id=printer)
    await q.state(first["id"], "held")
    await q.state(second["id"], "queued")
    async with q.db() as conn:
        rows = await conn.fetch(
            "SELECT state, hold_reason, expires_at FROM jobs WHERE reservation_id IS NOT NULL"
            " ORDER BY sequence"
        )
    assert [(r["state"], r["hold_reason"]) for r in rows] == [("held", "quota"), ("queued", None)]
    # Both keep the reservation's deadline, whatever routing decided.
    assert all(abs((r["expires_at"] - deadline).total_seconds()) < 1 for r in rows)
    listing = await (await q.client.get("/v1/devices/me/jobs", headers=q.device(printer))).json()
    assert [i["job_id"] for i in listing["items"]] == [second["id"]]
