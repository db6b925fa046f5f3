"""The device side of the queues: a printer sees and downloads only its own jobs,
resumably; secure release waits for the owner's login at the printer; pull print
releases held jobs at one member, exactly once."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.events.contracts.gateway import DeviceJobStatusReported
from shared.events.contracts.sessions import DeviceLoginApproved
from shared.printing.capabilities import Capabilities
from shared.testing.documents import pwg_raster
from tests.support.kafka import envelopes
from tests.support.queues import (
    Queues,
    about,
)

pytestmark = pytest.mark.integration


def _login(
    q: Queues, printer: uuid.UUID, user: uuid.UUID, action: str = "open_session", ttl: int = 600
) -> DeviceLoginApproved:
    at = datetime.now(UTC)
    return DeviceLoginApproved(
        session_id=uuid.uuid4(),
        tenant_id=q.tenant,
        printer_id=printer,
        user_id=user,
        display_name="Ada Lovelace",
        action=action,
        approved_at=at,  # type: ignore[arg-type]
        expires_at=at + timedelta(seconds=ttl),
    )


async def test_a_printer_downloads_only_its_own_jobs_and_resumes_with_range(q: Queues) -> None:
    ada = await q.user(name="Ada Lovelace")
    mine, other = await q.printer(), await q.printer()
    content = pwg_raster(2, height=50_000)  # about 300 KB
    doc = await q.upload(ada, content, "image/pwg-raster", title="Raster")
    job = await q.queued_job(ada, mine, document_id=doc["document_id"])
    theirs = await q.queued_job(ada, other)

    listing = await (await q.client.get("/v1/devices/me/jobs", headers=q.device(mine))).json()
    [item] = listing["items"]
    assert (item["job_id"], item["owner_name"], item["fetchable"]) == (
        job["id"],
        "Ada Lovelace",
        True,
    )
    assert item["document"] == {
        "url": f"http://queues.test/v1/devices/me/jobs/{job['id']}/document",
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "format": "image/pwg-raster",
    }
    path = f"/v1/devices/me/jobs/{job['id']}/document"
    # Another printer's job is not there for this printer, whatever it tries.
    for foreign in (theirs["id"], str(uuid.uuid4()), "not-a-uuid"):
        resp = await q.client.get(f"/v1/devices/me/jobs/{foreign}/document", headers=q.device(mine))
        assert resp.status == 404, await resp.text()
    # The same device id with another tenant's token sees nothing.
    foreign = q.device(mine, tenant=uuid.uuid4())
    assert (await q.client.get(path, headers=foreign)).status == 404
    assert (await (await q.client.get("/v1/devices/me/jobs", headers=foreign)).json()) == {
        "items": []
    }
    # A user's token is not a device's.
    assert (await q.client.get(path, headers=ada.headers)).status == 403

    first = await q.client.get(path, headers={**q.device(mine), "Range": "bytes=0-99999"})
    assert first.status == 206
    assert first.headers["Content-Range"] == f"bytes 0-99999/{len(content)}"
    assert first.headers["ETag"] == f'"{doc["sha256"]}"'
    part = await first.read()
    await q.state(job["id"], "sent")
    rest = await q.client.get(
        path,
        headers={
            **q.device(mine),
            "Range": f"bytes={len(part)}-",
            "If-Range": first.headers["ETag"],
        },
    )
    assert rest.status == 206
    assert part + await rest.read() == content
    tail = await q.client.get(path, headers={**q.device(mine), "Range": "bytes=-10"})
    assert await tail.read() == content[-10:]
    beyond = await q.client.get(path, headers={**q.device(mine), "Range": f"bytes={len(content)}-"})
    assert beyond.status == 416 and beyond.headers["Content-Range"] == f"bytes */{len(content)}"
    whole = await q.client.get(path, headers=q.device(mine))
    assert whole.status == 200 and await whole.read() == content
    sent = await envelopes(
        q.bootstrap, "queues.jobs", about(job["id"], "job.sent"), count=1, settle_s=0.5
    )
    assert len(sent) == 1, "job.sent once, on the first download"


async def test_a_connector_fetches_for_the_printers_it_bridges(q: Queues) -> None:
    ada = await q.user()
    connector = uuid.uuid4()
    bridged = await q.printer(connector=connector)
    job = await q.queued_job(ada, bridged)
    hints = await envelopes(
        q.bootstrap, "devices.notifications", lambda e: job["id"] in e["data"]["job_ids"], count=1
    )
    assert (hints[0]["data"]["device_id"], hints[0]["data"]["target_device_id"]) == (
        str(connector),
        str(bridged),
    )
    listing = await (
        await q.client.get("/v1/devices/me/jobs", headers=q.device(connector, "connector"))
    ).json()
    assert [i["job_id"] for i in listing["items"]] == [job["id"]]
    resp = await q.client.get(
        f"/v1/devices/me/jobs/{job['id']}/document", headers=q.device(connector, "connector")
    )
    assert resp.status == 200
    # A report through a connector that does not hold the printer is parked, not applied.
    stranger = uuid.uuid4()
    await q.publish(
        DeviceJobStatusReported(
            device_id=bridged,
            tenant_id=q.tenant,
            job_id=uuid.UUID(job["id"]),
            state="completed",
            reported_at=datetime.now(UTC),
            via_connector=stranger,
        )
    )
    [parked] = await envelopes(
        q.bootstrap,
        "printcloud.dead-letter",
        lambda e: e.get("data", {}).get("via_connector") == str(stranger),
        count=1,
    )
    assert parked["data"]["job_id"] == job["id"]
    await q.publish(
        DeviceJobStatusReported(
            device_id=bridged,
            tenant_id=q.tenant,
            job_id=uuid.UUID(job["id"]),
            state="completed",
            reported_at=datetime.now(UTC),
            via_connector=connector,
        )
    )
    await q.state(job["id"], "completed")


async def test_secure_release_waits_for_the_owners_login_at_that_printer(q: Queues) -> None:
    ada, bob = await q.user(), await q.user(name="Bob")
    printer, elsewhere = await q.printer(), await q.printer()
    job = await q.queued_job(ada, printer, release="secure")
    device = q.device(printer)
    [item] = (await (await q.client.get("/v1/devices/me/jobs", headers=device)).json())["items"]
    assert (item["fetchable"], item["requires_login"], item["release"]) == (False, True, "secure")
    path = f"/v1/devices/me/jobs/{job['id']}/document"
    refused = await q.client.get(path, headers=device)
    assert refused.status == 403 and (await refused.json())["code"] == "release-required"
    # The owner's release request does not bypass the login; nor does anyone else's session.
    resp = await q.client.post(
        f"/v1/printers/{printer}/release", json={"job_ids": [job["id"]]}, headers=ada.headers
    )
    assert resp.status == 409
    await q.publish(_login(q, printer, bob.id), _login(q, elsewhere, ada.id))
    await q.until(
        "SELECT count(*) FROM sessions WHERE printer_id = ANY($1::uuid[]) HAVING count(*) = 2",
        [printer, elsewhere],
    )
    assert (await q.client.get(path, headers=device)).status == 403
    await q.publish(_login(q, printer, ada.id))
    [hint] = await envelopes(
        q.bootstrap,
        "devices.notifications",
        lambda e: e["data"]["kind"] == "work_available" and e["data"]["job_ids"] == [job["id"]],
        count=1,
    )
    assert hint["data"]["device_id"] == str(printer)
    sessions = await (await q.client.get("/v1/devices/me/sessions", headers=device)).json()
    assert {s["user_id"] for s in sessions["items"]} == {str(ada.id), str(bob.id)}
    [item] = (await (await q.client.get("/v1/devices/me/jobs", headers=device)).json())["items"]
    assert (item["fetchable"], item["requires_login"]) == (True, False)
    resp = await q.client.get(path, headers=device)
    assert resp.status == 200
    await q.state(job["id"], "sent")


async def test_pull_print_releases_at_one_member_and_a_double_release_has_one_winner(
    q: Queues,
) -> None:
    ada, bob = await q.user(), await q.user()
    left, right, outsider = await q.printer(), await q.printer(), await q.printer()
    vp = await q.virtual_printer([left, right])
    jobs = [await q.submit(ada, virtual_printer_id=str(vp)) for _ in range(3)]
    for job in jobs:
        await q.route(job["id"], 1, "hold", reason="pull")
        await q.state(job["id"], "held")
    one = {"job_ids": [jobs[0]["id"]]}
    # Not a member, not the owner, unknown printer: refused, nothing moves.
    not_member = await q.client.post(
        f"/v1/printers/{outsider}/release", json=one, headers=ada.headers
    )
    assert not_member.status == 409 and (await not_member.json())["errors"][0]["field"] == (
        f"job_ids.{jobs[0]['id']}"
    )
    assert (
        await q.client.post(f"/v1/printers/{left}/release", json=one, headers=bob.headers)
    ).status == 409
    assert (
        await q.client.post(f"/v1/printers/{uuid.uuid4()}/release", json=one, headers=ada.headers)
    ).status == 404
    await q.state(jobs[0]["id"], "held")

    left_try = q.client.post(f"/v1/printers/{left}/release", json=one, headers=ada.headers)
    right_try = q.client.post(f"/v1/printers/{right}/release", json=one, headers=ada.headers)
    answers = await asyncio.gather(left_try, right_try)
    assert sorted(a.status for a in answers) == [200, 409]
    winner = next(a for a in answers if a.status == 200)
    [released] = (await winner.json())["released"]
    loser = await next(a for a in answers if a.status == 409).json()
    assert loser["code"] == "release-conflict" and jobs[0]["id"] in loser["errors"][0]["field"]
    states = ("job.submitted", "job.held", "job.moved", "job.queued")
    events = await envelopes(
        q.bootstrap, "queues.jobs", about(jobs[0]["id"], *states), count=4, settle_s=1
    )
    assert [e["type"] for e in events] == ["job.submitted", "job.held", "job.moved", "job.queued"]
    assert events[2]["data"]["to_printer_id"] == released["printer_id"]
    assert events[2]["data"]["from_virtual_printer_id"] == str(vp)

    # The rest with all: true at the right printer; then a phone login releases nothing more.
    rest = await q.client.post(
        f"/v1/printers/{right}/release", json={"all": True}, headers=ada.headers
    )
    assert sorted(j["id"] for j in (await rest.json())["released"]) == sorted(
        j["id"] for j in jobs[1:]
    )
    listing = await (await q.client.get("/v1/devices/me/jobs", headers=q.device(right))).json()
    assert {j["job_id"] for j in listing["items"]} >= {j["id"] for j in jobs[1:]}


async def test_a_phone_login_with_release_all_releases_the_users_held_jobs(q: Queues) -> None:
    ada = await q.user()
    printer, other = await q.printer(), await q.printer()
    vp = await q.virtual_printer([printer, other])
    job = await q.submit(ada, virtual_printer_id=str(vp))
    await q.route(job["id"], 1, "hold", reason="pull")
    await q.state(job["id"], "held")
    await q.publish(_login(q, printer, ada.id, "release_all"))
    await q.state(job["id"], "queued")
    async with q.db() as conn:
        assert (
            await conn.fetchval("SELECT printer_id FROM jobs WHERE id = $1", uuid.UUID(job["id"]))
            == printer
        )


async def test_a_device_lists_the_virtual_printers_its_printers_are_members_of(
    q: Queues,
) -> None:
    mono = Capabilities(
        document_format_supported=["application/pdf"], print_color_mode_supported=["monochrome"]
    )
    left, right, outsider = await q.printer(), await q.printer(mono), await q.printer()
    both = await q.virtual_printer([left, right])
    only_left = await q.virtual_printer([left])
    await q.virtual_printer([outsider])
    listed = await q.client.get("/v1/devices/me/virtual-printers", headers=q.device(right))
    assert listed.status == 200
    [item] = (await listed.json())["items"]
    assert item["virtual_printer_id"] == str(both)
    assert item["members"] == [str(left), str(right)]
    # what every member supports: the monochrome member takes colour out
    assert item["effective_capabilities"]["print_color_mode_supported"] == ["monochrome"]
    left_items = (
        await (await q.client.get("/v1/devices/me/virtual-printers", headers=q.device(left))).json()
    )["items"]
    assert {i["virtual_printer_id"] for i in left_items} == {str(both), str(only_left)}
    # another tenant's device with the same printer id sees nothing; a user is refused
    foreign = q.device(left, tenant=uuid.uuid4())
    assert (await (await q.client.get("/v1/devices/me/virtual-printers", headers=foreign)).json())[
        "items"
    ] == []
    ada = await q.user()
    assert (
        await q.client.get("/v1/devices/me/virtual-printers", headers=ada.headers)
    ).status == 403
