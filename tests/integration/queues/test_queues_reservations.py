"""Reservation printing: kept documents queued at a printer by priority, within counts,
in sequence for the device; what is not printed by the deadline expires."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.testing.documents import pdf
from tests.support.kafka import envelopes
from tests.support.queues import (
    Queues,
    about,
)

pytestmark = pytest.mark.integration


async def test_a_reservation_queues_kept_documents_by_priority_within_the_limits(
    q: Queues,
) -> None:
    ada = await q.user()
    printer = await q.printer()
    docs = {}
    # (title, priority, pages): oldest first on equal priority.
    for title, priority, pages in [("low", 1, 1), ("urgent", 9, 2), ("old", 5, 2), ("new", 5, 2),
                                   ("huge", 8, 50)]:  # fmt: skip
        docs[title] = await q.upload(
            ada, pdf(pages, title), keep="true", priority=str(priority), pages=str(pages),
            title=title,
        )  # fmt: skip
    not_kept = await q.upload(ada, title="not kept", priority="100")
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    body = {"printer_id": str(printer), "max_count": 3, "max_pages": 6,
            "deadline": deadline.isoformat()}  # fmt: skip
    resp = await q.client.post("/v1/reservations", json=body, headers=ada.headers)
    assert resp.status == 201, await resp.text()
    reservation = await resp.json()
    # "huge" would pass max_pages; "low" would pass max_count.
    assert [j["title"] for j in reservation["jobs"]] == ["urgent", "old", "new"]
    # Each goes through routing like any job; routing queues them at the printer.
    assert all(j["state"] == "pending" for j in reservation["jobs"])
    for job in reservation["jobs"]:
        await q.route(job["id"], 1, printer_id=printer)
    for job in reservation["jobs"]:
        await q.state(job["id"], "queued")
    assert not_kept["document_id"] not in {j["document_id"] for j in reservation["jobs"]}
    listing = await (await q.client.get("/v1/devices/me/jobs", headers=q.device(printer))).json()
    assert [i["title"] for i in listing["items"]] == ["urgent", "old", "new"]
    # The documents taken are no longer kept: a second reservation takes the rest.
    again = await q.client.post("/v1/reservations", json={**body, "max_pages": 100},
                                headers=ada.headers)  # fmt: skip
    assert [j["title"] for j in (await again.json())["jobs"]] == ["huge", "low"]

    # The printer takes the first; the others are not printed by the deadline and expire.
    first = reservation["jobs"][0]
    got = await q.client.get(f"/v1/devices/me/jobs/{first['id']}/document",
                             headers=q.device(printer))  # fmt: skip
    assert got.status == 200
    for job in reservation["jobs"][1:]:
        await q.state(job["id"], "expired", timeout=30)
        [event] = await envelopes(q.bootstrap, "queues.jobs", about(job["id"], "job.expired"),
                                    count=1)  # fmt: skip
        assert event["data"]["previous_state"] == "queued"
    await q.state(first["id"], "sent")
    past = await q.client.post("/v1/reservations", headers=ada.headers, json={
        **body, "deadline": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()})  # fmt: skip
    assert past.status == 422 and (await past.json())["errors"][0]["field"] == "deadline"


async def test_reservations_are_listed_to_their_owner_and_admins_and_cancelled_with_their_jobs(
    q: Queues,
) -> None:
    ada, bob = await q.user(), await q.user(name="Bob")
    admin = await q.user(roles=["admin"])
    eve = await q.user(tenant=uuid.uuid4(), roles=["admin"])
    printer, other_printer = await q.printer(), await q.printer()
    deadline = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    made = {}
    for who, at, title in ((ada, printer, "ada"), (bob, other_printer, "bob")):
        await q.upload(who, pdf(1, title), keep="true", pages="1", title=title)
        body = {"printer_id": str(at), "max_count": 5, "max_pages": 50, "deadline": deadline}
        resp = await q.client.post("/v1/reservations", headers=who.headers, json=body)
        assert resp.status == 201, await resp.text()
        made[title] = await resp.json()

    async def listed(who: Any, **query: str) -> list[str]:
        resp = await q.client.get("/v1/reservations", params=query, headers=who.headers)
        assert resp.status == 200, await resp.text()
        return [r["jobs"][0]["title"] for r in (await resp.json())["items"]]

    assert await listed(ada) == ["ada"] and await listed(bob) == ["bob"]
    assert sorted(await listed(admin)) == ["ada", "bob"]
    assert await listed(admin, printer_id=str(other_printer)) == ["bob"]
    assert await listed(admin, owner="me") == [] and await listed(eve) == []
    first = await listed(admin, limit="1")
    resp = await q.client.get("/v1/reservations", params={"limit": "1"}, headers=admin.headers)
    after = (await resp.json())["next_after"]
    assert first + await listed(admin, limit="1", after=after) == sorted(
        ["ada", "bob"], key=lambda t: made[t]["reservation_id"]
    )

    ada_id = made["ada"]["reservation_id"]
    # Another tenant's administrator and another user are answered as for no reservation.
    for who, rid in ((eve, ada_id), (bob, ada_id), (ada, str(uuid.uuid4()))):
        resp = await q.client.delete(f"/v1/reservations/{rid}", headers=who.headers)
        assert resp.status == 404, await resp.text()
        assert (await resp.json())["code"] == "reservation-not-found"
    await q.state(made["ada"]["jobs"][0]["id"], "pending")
    resp = await q.client.delete(f"/v1/reservations/{ada_id}", headers=ada.headers)
    assert resp.status == 200, await resp.text()
    cancelled = await resp.json()
    assert cancelled["canceled_at"] and [j["state"] for j in cancelled["jobs"]] == ["canceled"]
    ada_job = made["ada"]["jobs"][0]["id"]
    [event] = await envelopes(q.bootstrap, "queues.jobs", about(ada_job, "job.canceled"), count=1)
    assert event["data"]["previous_state"] == "pending"
    again = await q.client.delete(f"/v1/reservations/{ada_id}", headers=admin.headers)
    assert again.status == 200 and (await again.json())["canceled_at"] == cancelled["canceled_at"]
    bob_job = made["bob"]["jobs"][0]["id"]
    resp = await q.client.get(f"/v1/jobs/{bob_job}", headers=bob.headers)
    assert (await resp.json())["state"] != "canceled"
