"""Webhook deliveries per second and event -> delivery latency.

Real processes on this machine: a Kafka broker, a Postgres server, the notifications
service (``python -m services.notifications``) and a webhook receiver
(``tests.support.webhook_receiver``, answering 204 at once). Jobs are published on
``queues.jobs`` as queues would (submitted, queued, sent, printing, completed: five
events per job, each stamped with the moment it is published) at ``--jobs-per-s`` for
``--seconds``, and each endpoint subscribes to ``job.*``. The run counts only if every
event reached every endpoint, with a valid signature, in order per job.

Latency is the receiver's arrival time minus the event's time; a job's later events
wait for its earlier ones to be accepted (order per job), which the figure includes.

Example: ``python -m bench.webhooks --jobs-per-s 100 --seconds 30 --endpoints 1``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from standardwebhooks.webhooks import Webhook

from bench.results import on_test_infra, write_result
from services.notifications.app import SPEC
from shared.crypto.sealing import new_key_text
from shared.events.envelope import new_envelope
from shared.infra.database import create_database, prepare_service, with_database
from shared.infra.kafka import free_port
from shared.infra.processes import ServiceProcess
from shared.kafka.access import KafkaAccess
from shared.kafka.admin import ensure_topics
from shared.kafka.producer import create_producer
from shared.kafka.topics import TOPICS
from tests.support.notifications import job_story

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "op-" + secrets.token_hex(16)


async def _warm_up(kafka: KafkaAccess, jobs: int = 200) -> None:
    """Jobs of a tenant without endpoints, until the broker acknowledged them all: every
    partition of queues.jobs has a working leader before the measured run (a fresh broker
    on a busy machine takes a while to get there)."""
    producer = create_producer(kafka, client_id="bench-webhooks-warm-up")
    await producer.start()
    try:
        tenant = uuid.uuid4()
        sent = []
        for _ in range(jobs):
            for event in job_story(tenant):
                env = new_envelope(event, source="queues", tenant_id=tenant)
                sent.append(await producer.send(event.topic, env.to_bytes(), key=env.key.encode()))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _publish(kafka: KafkaAccess, tenant: uuid.UUID, jobs_per_s: float, seconds: float) -> int:
    """Publish jobs at the rate; each job's events stamped now. Returns the job count."""
    producer = create_producer(kafka, client_id="bench-webhooks")
    await producer.start()
    started = time.monotonic()
    sent = 0
    try:
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed * jobs_per_s) + 1
            for _ in range(due - sent):
                now = datetime.now(UTC)
                for story_event in job_story(tenant):
                    event = story_event.model_copy(update={"at": now})
                    env = new_envelope(event, source="queues", tenant_id=tenant)
                    await producer.send(
                        event.topic, env.to_bytes(), key=env.key.encode(),
                        headers=env.kafka_headers(),
                    )  # fmt: skip
                sent += 1
            await asyncio.sleep(0.005)
        await producer.flush()
    finally:
        await producer.stop()
    return sent


async def _arrived(log: Path, expected: int, timeout: float) -> None:
    """Wait until the receiver logged ``expected`` requests (or the timeout passed)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            for _ in iter(int, 1):  # until the count is reached
                if len(_received(log)) >= expected:
                    return
                await asyncio.sleep(0.5)


def _received(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


async def _subscribe(port: int, tenant: uuid.UUID, receiver: str, n: int) -> list[str]:
    secrets_: list[str] = []
    async with aiohttp.ClientSession() as http:
        for i in range(n):
            body = {
                "tenant_id": str(tenant),
                "url": f"{receiver}/hooks/{i}",
                "event_types": ["job.*"],
            }
            async with http.post(
                f"http://127.0.0.1:{port}/v1/webhook-endpoints", json=body,
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as resp:  # fmt: skip
                answer = await resp.json()
                assert resp.status == 201, answer
                secrets_.append(answer["secret"])
    return secrets_


def _summary(received: list[dict[str, Any]], secrets_: list[str], expected: int) -> dict[str, Any]:
    latencies = []
    ids: set[tuple[str, str]] = set()
    per_job: dict[tuple[str, str], list[str]] = {}
    valid = True
    for r in received:
        endpoint = r["path"].rsplit("/", 1)[-1]
        try:
            body = Webhook(secrets_[int(endpoint)]).verify(r["body"], r["headers"])
        except Exception:
            valid = False
            continue
        ids.add((endpoint, r["headers"]["webhook-id"]))
        per_job.setdefault((endpoint, body["data"]["job_id"]), []).append(body["type"])
        at = datetime.fromisoformat(body["timestamp"]).timestamp()
        latencies.append(r["at"] - at)
    order = ["job.submitted", "job.queued", "job.sent", "job.printing", "job.completed"]
    in_order = all(types == order for types in per_job.values())
    arrivals = sorted(r["at"] for r in received)
    span = max(arrivals[-1] - arrivals[0], 1e-9) if arrivals else 1e-9
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "deliveries": len(received), "expected": expected, "distinct": len(ids),
        "deliveries_per_s": round(len(received) / span, 1),
        "latency_p50_ms": round(q[49] * 1000, 1), "latency_p99_ms": round(q[98] * 1000, 1),
        "latency_max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
        "ok": valid and in_order and len(ids) == expected,
    }  # fmt: skip


async def run(args: argparse.Namespace, infra: Any, tmp: Path) -> dict[str, Any]:
    database = f"bench_{secrets.token_hex(3)}"
    await create_database(infra.admin_dsn, database)
    schema = f"notifications_{secrets.token_hex(3)}"
    dsn = await prepare_service(
        with_database(infra.admin_dsn, database), schema, SPEC.migrations_dir
    )
    await ensure_topics(infra.kafka, TOPICS)
    recv_port, http_port = free_port(), free_port()
    log = tmp / "received.jsonl"
    receiver = ServiceProcess(
        "receiver", "tests.support.webhook_receiver", {}, tmp / "receiver.log",
        args=[str(recv_port), str(log)],
    )  # fmt: skip
    prefix = "PRINTCLOUD_NOTIFICATIONS_"
    env = {
        "DATABASE_URL": dsn, "DB_SCHEMA": schema, "KAFKA_BOOTSTRAP": infra.bootstrap,
        "OPERATOR_TOKEN": TOKEN, "KEY_ENCRYPTION_KEY": new_key_text(), "ALLOW_HTTP": "true",
        "ALLOWED_NETWORKS": '["127.0.0.1/32"]', "HTTP_PORT": str(http_port),
        "ENDPOINT_CONCURRENCY": str(args.endpoint_concurrency), "LOG_LEVEL": "WARNING",
        "DELIVERY_POLL_S": "0.05",
    }  # fmt: skip
    service = ServiceProcess("notifications", "services.notifications",
                             {**infra.kafka_environment(),
                              **{prefix + k: v for k, v in env.items()}},
                             tmp / "notifications.log", http_port)  # fmt: skip
    receiver.start()
    service.start()
    try:
        service.wait_ready(120)
        await _warm_up(infra.kafka)
        tenant = uuid.uuid4()
        secrets_ = await _subscribe(
            http_port, tenant, f"http://127.0.0.1:{recv_port}", args.endpoints
        )
        jobs = await _publish(infra.kafka, tenant, args.jobs_per_s, args.seconds)
        expected = jobs * 5 * args.endpoints
        await _arrived(log, expected, args.seconds * 10 + 60)
        result = _summary(_received(log), secrets_, expected)
        return {"jobs_per_s": args.jobs_per_s, "seconds": args.seconds, "jobs": jobs,
                "endpoints": args.endpoints, "endpoint_concurrency": args.endpoint_concurrency,
                **result}  # fmt: skip
    finally:
        service.kill()
        receiver.kill()


async def main(args: argparse.Namespace) -> None:
    result = await on_test_infra(run, args)
    print(json.dumps(result), flush=True)
    print(f"written {write_result('webhooks', result)}")
    if not result["ok"]:
        raise SystemExit("not every event reached every endpoint once, signed, in order")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--jobs-per-s", type=float, default=100)
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--endpoints", type=int, default=1)
    p.add_argument("--endpoint-concurrency", type=int, default=4)
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
