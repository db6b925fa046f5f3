"""Jobs from the owner's side: submission checked against capabilities, routing's
decisions applied (stale ones ignored), cancel, tenant isolation, event streams."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import aiohttp
import pytest

from shared.events.contracts.gateway import DeviceJobStatusReported
from shared.printing.capabilities import Capabilities
from shared.testing.documents import png as png_image
from tests.support.kafka import envelopes
from tests.support.queues import (
    CAPS,
    Queues,
    about,
)

pytestmark = pytest.mark.integration


async def test_a_callback_url_goes_with_the_jobs_origin_just_before_its_submission(
    q: Queues,
) -> None:
    ada = await q.user()
    printer = await q.printer()
    bad = await q.submit(ada, 422, printer_id=str(printer), callback_url="ftp://x.example/a")
    assert bad["errors"][0]["field"] == "callback_url"
    callback = "https://records.example/printcloud/jobs/4711"
    job = await q.submit(ada, printer_id=str(printer), callback_url=callback)
    first, second = await envelopes(q.bootstrap, "queues.jobs", about(job["id"]), count=2)
    assert (first["type"], second["type"]) == ("job.origin_recorded", "job.submitted")
    assert first["data"]["callback_url"] == callback and first["data"]["token_id"]
    assert first["data"]["owner_id"] == str(ada.id)


async def test_a_job_is_submitted_and_refused_settings_are_named_with_allowed_values(
    q: Queues,
) -> None:
    ada = await q.user()
    printer = await q.printer()
    doc = await q.upload(ada, title="Quarterly report")
    assert (doc["pages"], doc["format"], doc["title"]) == (2, "application/pdf", "Quarterly report")

    bad = await q.submit(
        ada,
        422,
        document_id=doc["document_id"],
        printer_id=str(printer),
        settings={"copies": 500, "media": "iso_a3_297x420mm", "sides": "one-sided"},
    )
    assert bad["code"] == "settings-not-supported"
    assert {e["field"] for e in bad["errors"]} == {"settings.copies", "settings.media"}
    invalid = {i["setting"]: i for i in bad["invalid_settings"]}
    assert invalid["media"]["value"] == "iso_a3_297x420mm"
    assert invalid["media"]["allowed"] == ["iso_a4_210x297mm", "na_letter_8.5x11in"]
    assert invalid["copies"]["allowed"] == {"min": 1, "max": 99}

    job = await q.submit(
        ada,
        document_id=doc["document_id"],
        printer_id=str(printer),
        settings={"copies": 2, "sides": "two-sided-long-edge"},
    )
    assert (job["state"], job["pages"], job["printed_pages"]) == ("pending", 2, 4)
    assert job["title"] == "Quarterly report" and job["release"] == "direct"
    [submitted] = await envelopes(
        q.bootstrap, "queues.jobs", about(job["id"], "job.submitted"), count=1
    )
    assert submitted["type"] == "job.submitted"
    assert submitted["data"]["document_sha256"] == doc["sha256"]
    assert submitted["data"]["printed_pages"] == 4

    # A format the printer does not take is refused naming document_format.
    png = await q.upload(ada, png_image(), "image/png")
    refused = await q.submit(ada, 422, document_id=png["document_id"], printer_id=str(printer))
    assert refused["invalid_settings"][0]["setting"] == "document_format"
    # Unknown targets, targets of another tenant and targets without capabilities.
    other_tenant_printer = await q.printer(tenant=uuid.uuid4())
    for target in (uuid.uuid4(), other_tenant_printer):
        gone = await q.submit(ada, 404, document_id=doc["document_id"], printer_id=str(target))
        assert gone["code"] == "printer-not-found"
    both = await q.submit(
        ada,
        422,
        document_id=doc["document_id"],
        printer_id=str(printer),
        virtual_printer_id=str(uuid.uuid4()),
    )
    assert both["code"] == "validation-failed"


async def test_a_virtual_printer_accepts_only_what_every_member_can_do(q: Queues) -> None:
    ada = await q.user()
    colour = await q.printer()
    mono = await q.printer(_mono_caps())
    vp = await q.virtual_printer([colour, mono])
    refused = await q.submit(
        ada, 422, virtual_printer_id=str(vp), settings={"print_color_mode": "color"}
    )
    assert refused["invalid_settings"][0]["allowed"] == ["monochrome"]
    job = await q.submit(
        ada, virtual_printer_id=str(vp), settings={"print_color_mode": "monochrome"}
    )
    assert job["release"] == "pull" and job["virtual_printer_id"] == str(vp)


def _mono_caps() -> Capabilities:
    return CAPS.model_copy(update={"print_color_mode_supported": ["monochrome"]})


async def test_routing_decisions_are_applied_in_order_and_stale_ones_ignored(q: Queues) -> None:
    ada = await q.user()
    first, second = await q.printer(), await q.printer()
    job = await q.submit(ada, printer_id=str(first))
    hold = await q.route(job["id"], 2, "hold", reason="printer_offline")
    await q.state(job["id"], "held")
    stale = await q.route(job["id"], 1, printer_id=first)  # older than the hold: ignored
    queue = await q.route(job["id"], 3, printer_id=first)
    await q.state(job["id"], "queued")
    failover = await q.route(job["id"], 4, printer_id=second, reason="failover")
    await q.until(
        "SELECT 1 FROM jobs WHERE id = $1 AND printer_id = $2", uuid.UUID(job["id"]), second
    )
    causes = {hold: [], stale: [], queue: [], failover: []}
    for event in await envelopes(
        q.bootstrap, "queues.jobs", lambda e: e["causation_id"] in causes, count=4, settle_s=1
    ):
        causes[event["causation_id"]].append(event)
    assert {k: [e["type"] for e in v] for k, v in causes.items()} == {
        hold: ["job.held"],
        stale: [],
        queue: ["job.queued"],
        failover: ["job.moved", "job.queued"],
    }
    moved = causes[failover][0]["data"]
    assert (moved["from_printer_id"], moved["to_printer_id"], moved["reason"]) == (
        str(first),
        str(second),
        "failover",
    )
    # work_available went to each printer when the job became fetchable there.
    hints = await envelopes(
        q.bootstrap,
        "devices.notifications",
        lambda e: e["causation_id"] in (queue, failover),
        count=2,
        settle_s=0.5,
    )
    # (Keyed by device: two partitions, no order between them.)
    assert {(h["causation_id"], h["data"]["device_id"], h["data"]["kind"]) for h in hints} == {
        (queue, str(first), "work_available"),
        (failover, str(second), "work_available"),
    }
    # Once the printer has it, routing can no longer move it.
    await q.publish(_report(q, job["id"], second, "printing"))
    await q.state(job["id"], "printing")
    await q.route(job["id"], 5, printer_id=first, reason="failover")
    await q.publish(_report(q, job["id"], second, "completed"))
    await q.state(job["id"], "completed")
    async with q.db() as conn:
        assert (
            await conn.fetchval("SELECT printer_id FROM jobs WHERE id = $1", uuid.UUID(job["id"]))
            == second
        )
    [done] = await envelopes(q.bootstrap, "queues.jobs", about(job["id"], "job.completed"), count=1)
    assert (done["data"]["printed_pages"], done["data"]["sheets"]) == (2, 2)


def _report(
    q: Queues, job_id: str, printer: uuid.UUID, state: str, **kw: object
) -> DeviceJobStatusReported:
    return DeviceJobStatusReported(
        device_id=printer,
        tenant_id=q.tenant,
        job_id=uuid.UUID(job_id),
        state=state,
        reported_at=datetime.now(UTC),
        **kw,
    )  # type: ignore[arg-type]


async def test_cancel_a_queued_job_and_a_sent_one_which_tells_the_printer(q: Queues) -> None:
    ada = await q.user()
    printer = await q.printer()
    queued = await q.queued_job(ada, printer)
    resp = await q.client.post(f"/v1/jobs/{queued['id']}/cancel", headers=ada.headers)
    assert resp.status == 200 and (await resp.json())["state"] == "canceled"
    again = await q.client.post(f"/v1/jobs/{queued['id']}/cancel", headers=ada.headers)
    assert again.status == 409 and (await again.json())["code"] == "invalid-transition"

    sent = await q.queued_job(ada, printer)
    download = await q.client.get(
        f"/v1/devices/me/jobs/{sent['id']}/document", headers=q.device(printer)
    )
    assert download.status == 200
    await q.state(sent["id"], "sent")
    resp = await q.client.post(f"/v1/jobs/{sent['id']}/cancel", headers=ada.headers)
    assert resp.status == 200
    [hint] = await envelopes(
        q.bootstrap,
        "devices.notifications",
        lambda e: e["data"]["kind"] == "job_canceled" and e["data"]["job_ids"] == [sent["id"]],
        count=1,
    )
    assert hint["data"]["device_id"] == str(printer)
    [canceled] = await envelopes(
        q.bootstrap, "queues.jobs", about(sent["id"], "job.canceled"), count=1
    )
    assert canceled["data"]["previous_state"] == "sent"


async def test_users_see_their_own_jobs_admins_their_tenant_and_nobody_another_tenant(
    q: Queues,
) -> None:
    ada, bob = await q.user(), await q.user(name="Bob")
    admin = await q.user(roles=["admin"])
    stranger = await q.user(tenant=uuid.uuid4())
    printer = await q.printer()
    job = await q.submit(ada, printer_id=str(printer))
    path = f"/v1/jobs/{job['id']}"
    assert (await q.client.get(path, headers=ada.headers)).status == 200
    assert (await q.client.get(path, headers=admin.headers)).status == 200
    for other in (bob, stranger):
        for method, url in (("GET", path), ("POST", path + "/cancel"), ("GET", path + "/events")):
            resp = await q.client.request(method, url, headers=other.headers)
            assert resp.status == 404, (method, url, await resp.text())
            assert (await resp.json())["code"] == "job-not-found"
    # Another tenant's document cannot be printed either.
    theirs = await q.upload(stranger)
    gone = await q.submit(ada, 404, document_id=theirs["document_id"], printer_id=str(printer))
    assert gone["code"] == "document-not-found"
    listing = await (await q.client.get("/v1/jobs", headers=bob.headers)).json()
    assert listing["items"] == []
    listing = await (await q.client.get("/v1/jobs", headers=admin.headers)).json()
    assert [j["id"] for j in listing["items"]] == [job["id"]]
    mine = await (await q.client.get("/v1/jobs?owner=me", headers=admin.headers)).json()
    assert mine["items"] == []
    # (Its state may have changed: a routing service of another test may route it.)
    pending = await (
        await q.client.get(f"/v1/jobs?printer_id={printer}&limit=1", headers=ada.headers)
    ).json()
    assert [j["id"] for j in pending["items"]] == [job["id"]] and pending["next_after"] == job["id"]
    # A device token is not a user's.
    device = await q.client.get("/v1/jobs", headers=q.device(printer))
    assert device.status == 403


async def _sse(resp: aiohttp.ClientResponse, until: str) -> list[tuple[str, dict[str, object]]]:
    """Read frames until a job.state frame with state ``until``."""
    frames: list[tuple[str, dict[str, object]]] = []
    event_id = None
    async with asyncio.timeout(30):
        while True:
            line = (await resp.content.readline()).decode().rstrip("\n")
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                assert event_id is not None
                frames.append((event_id, data))
                if data["state"] == until:
                    return frames


async def test_the_event_streams_show_queued_then_completed_and_resume(q: Queues) -> None:
    ada = await q.user()
    printer = await q.printer()
    job = await q.submit(ada, printer_id=str(printer))
    mine = await q.client.get("/v1/jobs/events", headers=ada.headers)
    assert mine.status == 200 and mine.content_type == "text/event-stream"
    stream = await q.client.get(f"/v1/jobs/{job['id']}/events", headers=ada.headers)
    first = await _sse(stream, "pending")
    await q.route(job["id"], 1, printer_id=printer)
    queued = await _sse(stream, "queued")
    await q.publish(_report(q, job["id"], printer, "completed"))
    done = await _sse(stream, "completed")
    states = [f[1]["state"] for f in first + queued + done]
    assert states[0] == "pending" and states[-2:] == ["queued", "completed"]
    assert (await stream.content.read()).strip() == b""  # the stream ends at the final state
    # The caller's stream saw the same changes after it opened.
    seen = await _sse(mine, "completed")
    assert [f[1]["state"] for f in seen][-2:] == ["queued", "completed"]
    assert {f[1]["job_id"] for f in seen} == {job["id"]}
    mine.close()
    # Resuming after the queued event gives only what followed.
    resumed = await q.client.get(
        f"/v1/jobs/{job['id']}/events", headers={**ada.headers, "Last-Event-ID": queued[-1][0]}
    )
    assert [f[1]["state"] for f in await _sse(resumed, "completed")] == ["completed"]
