"""The chaos run's webhook check: a real receiver process subscribed to ``job.*`` while
the notifications replicas are killed with the rest; afterwards every job event of
every accepted job must have reached it, signed, in order per job, and duplicates
only with the same ``webhook-id``.

What should arrive is read from Kafka itself: every record of ``queues.jobs`` whose
type an endpoint may subscribe to, for the accepted jobs (the ``webhook-id`` is the
event's id, so the comparison is by id)."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from standardwebhooks.webhooks import Webhook

from bench.platform_harness import User
from services.notifications.domain.model import JOB_TYPES
from shared.infra.kafka import free_port
from shared.infra.processes import ServiceProcess
from shared.kafka.access import KafkaAccess
from shared.kafka.replay import replay_and_follow

JOBS_TOPIC = "queues.jobs"


def notifications_env() -> dict[str, str]:
    """What the notifications replicas need to deliver to a receiver on loopback over
    plain HTTP (an operator's allow-list; never the default)."""
    prefix = "PRINTCLOUD_NOTIFICATIONS_"
    return {prefix + "ALLOW_HTTP": "true", prefix + "ALLOWED_NETWORKS": '["127.0.0.1/32"]',
            prefix + "DELIVERY_POLL_S": "0.1"}  # fmt: skip


@dataclass
class WebhookReceiver:
    """``tests.support.webhook_receiver`` as a process of its own (never killed)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    secret: str = ""

    def __post_init__(self) -> None:
        self.log = self.workdir / "webhooks.jsonl"
        self.proc = ServiceProcess(
            "receiver", "tests.support.webhook_receiver", {}, self.workdir / "receiver.log",
            args=[str(self.port), str(self.log)],
        )  # fmt: skip

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.proc.start()

    def stop(self) -> None:
        self.proc.kill()

    async def subscribe(self, http: aiohttp.ClientSession, admin: User) -> None:
        """An endpoint for every job event of the admin's tenant, through the public API."""
        body = {"url": f"http://127.0.0.1:{self.port}/hooks/chaos", "event_types": ["job.*"]}
        async with http.post(
            admin.base_url + "/v1/webhook-endpoints", json=body, headers=await admin.headers(http)
        ) as resp:  # fmt: skip
            answer = await resp.json()
            if resp.status != 201:
                raise RuntimeError(f"webhook subscription refused: {resp.status} {answer}")
            self.secret = answer["secret"]

    def received(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]


async def job_events(kafka: KafkaAccess, jobs: set[str]) -> dict[str, list[str]]:
    """job id -> the ids of its subscribable events, in the order queues first published
    them (an outbox relay stopped between publishing and recording publishes again: the
    later copy is the same event)."""
    out: dict[str, list[str]] = {}

    def apply(value: bytes | None) -> None:
        if value is None:
            return
        try:
            envelope = json.loads(value)
            job = str(envelope["data"]["job_id"])
            kind, event_id = envelope["type"], str(envelope["event_id"])
        except (ValueError, KeyError, TypeError):
            return  # not a job event this check knows
        seen = out.setdefault(job, []) if job in jobs and kind in JOB_TYPES else None
        if seen is not None and event_id not in seen:  # a relay may publish an event again
            seen.append(event_id)

    ready, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        replay_and_follow(kafka, JOBS_TOPIC, apply, ready, stop, what="chaos webhook check")
    )
    try:
        await asyncio.wait_for(ready.wait(), 120)
    finally:
        stop.set()
        await task
    return out


async def check(
    receiver: WebhookReceiver, kafka: KafkaAccess, jobs: set[str], wait_s: float
) -> dict[str, Any]:  # fmt: skip
    """The counts of the webhook check, once every expected event arrived or after
    ``wait_s`` more seconds."""
    expected = await job_events(kafka, jobs)
    wanted = {event for events in expected.values() for event in events}
    deadline = time.monotonic() + wait_s
    while True:
        received = receiver.received()
        got = {_webhook_id(r) for r in received}
        if wanted <= got or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    return verdict(expected, received, receiver.secret)


def _webhook_id(request: dict[str, Any]) -> str | None:
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return headers.get("webhook-id")


TOLERANCE_S = 300
"""How far a webhook-timestamp may be from the moment the request arrived (the
Standard Webhooks library's own tolerance)."""


def verified(verifier: Webhook, request: dict[str, Any]) -> dict[str, Any] | None:
    """The body of a request whose signature is right and whose timestamp was fresh
    when it arrived; None otherwise. The library's ``verify`` compares the timestamp
    with the clock now, long after a chaos run's early deliveries arrived, so the
    signature is checked with the library's own ``sign`` and the timestamp against
    the arrival time."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    try:
        sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
        expected = verifier.sign(headers["webhook-id"], sent_at, request["body"])
        offered = headers["webhook-signature"].split(" ")
    except (KeyError, ValueError):
        return None
    if abs(sent_at.timestamp() - request["at"]) > TOLERANCE_S:
        return None
    if not any(hmac.compare_digest(expected, sig) for sig in offered):
        return None
    body: dict[str, Any] = json.loads(request["body"])
    return body


def verdict(
    expected: dict[str, list[str]], received: list[dict[str, Any]], secret: str
) -> dict[str, Any]:  # fmt: skip
    """Missing, foreign and redelivered events, bad signatures, jobs out of order."""
    verifier = Webhook(secret)
    first: dict[str, float] = {}  # webhook-id -> first arrival
    copies: Counter[str] = Counter()
    bad = 0
    for r in received:
        body = verified(verifier, r)
        if body is None:
            bad += 1
            continue
        webhook_id = _webhook_id(r)
        if str(body["data"].get("job_id")) not in expected:
            continue  # a warm-up job's or an unknown attempt's event
        copies[webhook_id] += 1
        first.setdefault(webhook_id, r["at"])
    wanted = {event for events in expected.values() for event in events}
    missing = sorted(wanted - set(first))
    foreign = sorted(set(first) - wanted)
    arrival = {event: n for n, event in enumerate(sorted(first, key=first.__getitem__))}
    disordered = sorted(
        job for job, events in expected.items()
        if sorted((e for e in events if e in arrival), key=arrival.__getitem__)
        != [e for e in events if e in arrival]
    )  # fmt: skip
    return {
        "job_events": len(wanted),
        "delivered": len(wanted) - len(missing),
        "missing": len(missing),
        "not_published_but_delivered": len(foreign),
        "redelivered_same_id": sum(n - 1 for n in copies.values()),
        "bad_signatures": bad,
        "jobs_out_of_order": len(disordered),
        "samples": {"missing": missing[:5], "out_of_order": disordered[:5]},
        "ok": not missing and not foreign and not bad and not disordered,
    }
