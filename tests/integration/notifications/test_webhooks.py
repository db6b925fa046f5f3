"""Webhooks end to end on real Kafka and Postgres, to a receiver running as a process of
its own: every job event arrives once, signed, in order per job, also after the receiver
was down; a tampered or replayed delivery fails the Standard Webhooks verifier; unsafe
URLs are refused with their reason, a redirect to an internal address is not followed,
and an endpoint that keeps failing is disabled with an event saying so."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from itertools import zip_longest
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notifications.app import SPEC
from shared.testing.fixtures import ServiceDb, ServiceDbFactory, unique
from tests.support.kafka import envelopes, publish
from tests.support.notifications import Receiver, job_story, notifications_app
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

ORDER = ["job.submitted", "job.queued", "job.sent", "job.printing", "job.completed"]


@pytest.fixture
async def db(service_db: ServiceDbFactory, topics: object) -> ServiceDb:
    return await service_db(unique("notifications"), SPEC.migrations_dir)


async def publish_interleaved(bootstrap: str, stories: list[list[Any]]) -> None:
    """The stories' events, one job's after another's in turn (each job's in order)."""
    mixed = [e for row in zip_longest(*stories) for e in row if e is not None]
    await publish(bootstrap, *mixed, source="queues")


def by_job(received: list[dict[str, Any]]) -> dict[str, list[str]]:
    jobs: dict[str, list[str]] = {}
    for r in received:
        body = r["body_json"]
        jobs.setdefault(body["data"]["job_id"], []).append(body["type"])
    return jobs


def verified(secret: str, received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each request checked with the library's verifier (raises on a bad one)."""
    hook = Webhook(secret)
    for r in received:
        r["body_json"] = hook.verify(r["body"], r["headers"])
    return received


async def test_every_event_arrives_once_signed_in_order_and_the_backlog_after_an_outage(
    db: ServiceDb, bootstrap: str, tmp_path: Path
) -> None:
    receiver = Receiver(tmp_path)
    await receiver.start()
    try:
        async with notifications_app(db, bootstrap) as svc:
            hook = await svc.subscribe(f"{receiver.url}/hooks/printing")
            first = [job_story(svc.tenant) for _ in range(3)]
            first.append(job_story(uuid.uuid4()))  # another tenant's job: not told here
            await publish_interleaved(bootstrap, first)
            await eventually(lambda: len(receiver.received()) >= 15, 60, "15 webhooks")

            await receiver.kill()
            later = [job_story(svc.tenant) for _ in range(2)]
            await publish_interleaved(bootstrap, later)

            async def failing() -> bool:
                log = await svc.log(hook["id"], state="pending")
                # Only the first delivery of each job is attempted; the rest wait behind it.
                tried = [d for d in log if d["attempts"] >= 2]
                return len(log) == 10 and len(tried) == 2 and all(d["last_error"] for d in tried)

            await eventually(failing, 60, "attempts failing while the receiver is down")
            await receiver.start()
            await eventually(lambda: len(receiver.received()) >= 25, 60, "the backlog")

            received = verified(hook["secret"], receiver.received())
            ids = [r["headers"]["webhook-id"] for r in received]
            assert len(ids) == len(set(ids)) == 25
            expected = {str(s[0].job_id) for s in first[:3] + later}
            jobs = by_job(received)
            assert set(jobs) == expected
            assert all(types == ORDER for types in jobs.values()), jobs
            done: list[dict[str, Any]] = []

            async def all_recorded() -> bool:  # the receiver logs a request before answering
                done[:] = await svc.log(hook["id"], state="succeeded")
                return len(done) == 25

            await eventually(all_recorded, 30, "every delivery recorded as succeeded")
            assert all(d["last_status"] == 204 for d in done)
            assert any(d["attempts"] > 1 for d in done)

            one = received[0]
            tampered = one["body"].replace('"job.', '"jab.', 1)
            with pytest.raises(WebhookVerificationError, match="No matching signature"):
                Webhook(hook["secret"]).verify(tampered, one["headers"])
            fresh = {
                **one["headers"],
                "webhook-timestamp": str(int(datetime.now(UTC).timestamp()) + 1),
            }
            with pytest.raises(WebhookVerificationError):
                Webhook(hook["secret"]).verify(one["body"], fresh)
            later_clock = datetime.now(UTC) + timedelta(minutes=10)
            with mock.patch("standardwebhooks.webhooks.datetime", wraps=datetime) as clock:
                clock.now.return_value = later_clock
                with pytest.raises(WebhookVerificationError, match="too old"):
                    Webhook(hook["secret"]).verify(one["body"], one["headers"])
    finally:
        await receiver.kill()


async def test_unsafe_urls_are_refused_with_their_reason(db: ServiceDb, bootstrap: str) -> None:
    async with notifications_app(db, bootstrap, allow_http=False, allowed_networks=[]) as svc:
        cases = {
            "http://hooks.example/x": "only https URLs are accepted",
            "https://127.0.0.1/x": "127.0.0.1 is a loopback address",
            "https://10.1.2.3/x": "10.1.2.3 is a private address",
            "https://169.254.169.254/latest": "169.254.169.254 is a cloud metadata address",
            "https://[::1]:8443/x": "::1 is a loopback address",
            "https://localhost/x": "localhost resolves to",
            "https://user:pw@hooks.example/x": "may not carry credentials",
        }
        for url, reason in cases.items():
            status, problem = await svc.call(
                "POST", "/v1/webhook-endpoints", {"url": url, "event_types": ["*"]}
            )
            assert status == 422, (url, problem)
            [error] = problem["errors"]
            assert error["field"] == "url" and reason in error["reason"], (url, error)
        status, page = await svc.call("GET", "/v1/webhook-endpoints")
        assert status == 200 and page["items"] == []


async def test_a_redirect_to_an_internal_address_is_not_followed_and_a_failing_endpoint_is_disabled(
    db: ServiceDb, bootstrap: str, tmp_path: Path
) -> None:
    receiver = Receiver(tmp_path)
    await receiver.start()
    try:
        async with notifications_app(
            db, bootstrap, disable_after_failures=3, disable_after_s=0
        ) as svc:
            hook = await svc.subscribe(f"{receiver.url}/redirect", event_types=["job.completed"])
            await publish(bootstrap, *job_story(svc.tenant), source="queues")

            async def disabled() -> bool:
                status, endpoint = await svc.call("GET", f"/v1/webhook-endpoints/{hook['id']}")
                return status == 200 and not endpoint["enabled"]

            await eventually(disabled, 60, "the endpoint disabled")
            [delivery] = await svc.log(hook["id"])
            assert delivery["last_status"] == 302 and delivery["attempts"] >= 3
            assert delivery["last_error"] == (
                "redirect to http://169.254.169.254/latest/meta-data/ not followed; it is "
                "refused: 169.254.169.254 is a cloud metadata address"
            )
            assert all(r["path"] == "/redirect" for r in receiver.received())
            told = await envelopes(
                bootstrap, "notifications.endpoints",
                lambda e: e.get("data", {}).get("endpoint_id") == hook["id"],
            )  # fmt: skip
            assert told[0]["type"] == "webhook_endpoint.disabled"
            assert "redirect to http://169.254.169.254" in told[0]["data"]["reason"]
    finally:
        await receiver.kill()


async def test_a_slow_endpoint_delays_only_its_own_deliveries(
    db: ServiceDb, bootstrap: str, tmp_path: Path
) -> None:
    receiver = Receiver(tmp_path)
    await receiver.start()
    try:
        async with notifications_app(
            db, bootstrap, endpoint_concurrency=2, delivery_timeout_s=60
        ) as svc:
            slow = await svc.subscribe(f"{receiver.url}/slow")
            fast = await svc.subscribe(f"{receiver.url}/fast")
            stories = [job_story(svc.tenant) for _ in range(4)]
            await publish_interleaved(bootstrap, stories)

            def fast_ones() -> list[dict[str, Any]]:
                return [r for r in receiver.received() if r["path"] == "/fast"]

            await eventually(lambda: len(fast_ones()) == 20, 60, "the fast endpoint served")
            slow_calls = [r for r in receiver.received() if r["path"] == "/slow"]
            # Every job's first webhook is waiting on the slow endpoint, two at a time.
            assert len(slow_calls) <= 2
            pending = await svc.log(slow["id"], state="pending")
            assert len(pending) == 20 and not await svc.log(slow["id"], state="succeeded")

            async def fast_recorded() -> bool:
                return len(await svc.log(fast["id"], state="succeeded")) == 20

            await eventually(fast_recorded, 30, "the fast deliveries recorded")
            await receiver.kill()  # ends the slow calls before the service stops
    finally:
        await receiver.kill()


async def test_deliveries_wait_in_the_database_across_a_restart_of_the_service(
    db: ServiceDb, bootstrap: str, tmp_path: Path
) -> None:
    receiver = Receiver(tmp_path)  # not started yet: every attempt fails
    try:
        async with notifications_app(db, bootstrap) as svc:
            hook = await svc.subscribe(f"{receiver.url}/hooks")
            story = job_story(svc.tenant)
            await publish(bootstrap, *story, source="queues")

            async def queued_and_tried() -> bool:
                log = await svc.log(hook["id"])
                return len(log) == 5 and any(d["attempts"] >= 1 for d in log)

            await eventually(queued_and_tried, 60, "the job's webhooks queued and tried")
        await receiver.start()
        async with notifications_app(db, bootstrap):
            await eventually(lambda: len(receiver.received()) >= 5, 60, "the waiting webhooks")
            received = verified(hook["secret"], receiver.received())
            assert [r["body_json"]["type"] for r in received] == ORDER
            assert len({r["headers"]["webhook-id"] for r in received}) == 5
    finally:
        await receiver.kill()
