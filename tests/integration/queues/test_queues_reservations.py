"""Reservation printing: kept documents queued at a printer by priority, within counts,
in sequence for the device; what is not printed by the deadline expires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
