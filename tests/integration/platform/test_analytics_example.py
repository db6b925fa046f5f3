"""The analytics example reads real topics with a Kafka client and the schema files
alone, refuses what its schema refuses, and adds usage up per tenant; kcat (a plain
Kafka client) reads the same messages. Both authenticate like any client; the topic
is the test's own, which only the super user may read (the analytics user reads the
declared topics: tests/integration/platform/test_kafka_security.py)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.events.contracts.jobs import JobCompleted, JobFailed
from shared.events.envelope import new_envelope
from shared.testing.infra import TestInfra

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "analytics" / "usage_by_tenant.py"


def _completed(tenant: uuid.UUID, pages: int, colour: int) -> JobCompleted:
    return JobCompleted(
        job_id=uuid.uuid4(), tenant_id=tenant, owner_id=uuid.uuid4(), at=datetime.now(UTC),
        printer_id=uuid.uuid4(), pages=pages, printed_pages=pages, colour_pages=colour,
        sheets=(pages + 1) // 2, copies=1, sides="two-sided-long-edge", media="iso_a4_210x297mm",
    )  # fmt: skip


async def test_usage_per_tenant_from_the_topic(infra: TestInfra) -> None:
    topic = f"analytics-example-{uuid.uuid4().hex[:8]}"
    kafka = infra.kafka
    admin = AIOKafkaAdminClient(**kafka.client_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    a, b = uuid.uuid4(), uuid.uuid4()
    events = [_completed(a, 4, 1), _completed(a, 6, 0), _completed(b, 10, 10)]
    failed = JobFailed(
        job_id=uuid.uuid4(), tenant_id=a, owner_id=uuid.uuid4(), at=datetime.now(UTC),
        printer_id=None, reason="paper jam",
    )  # fmt: skip
    bad = new_envelope(_completed(b, 1, 0), source="queues", tenant_id=b).model_dump(mode="json")
    bad["data"]["printed_pages"] = -5  # the schema says minimum 0
    producer = AIOKafkaProducer(**kafka.client_options(), acks="all")
    await producer.start()
    try:
        for event in [*events, failed]:
            env = new_envelope(event, source="queues", tenant_id=event.tenant_id)
            await producer.send_and_wait(
                topic, env.to_bytes(), key=env.key.encode(), headers=env.kafka_headers()
            )
        await producer.send_and_wait(topic, json.dumps(bad).encode(), key=b"x")
        await producer.send_and_wait(topic, b"not json at all", key=b"y")
    finally:
        await producer.stop()

    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(EXAMPLE), "--bootstrap", infra.bootstrap, "--topic", topic,
         "--username", kafka.username, "--password-env", "PRINTCLOUD_KAFKA_PASSWORD",
         "--ca-file", kafka.ca_file, "--from-beginning", "--idle-timeout", "5"],
        capture_output=True, text=True, timeout=120, cwd="/",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.splitlines()[1:]}
    assert rows == {str(a): ["2", "10", "1", "5"], str(b): ["1", "10", "10", "5"]}
    assert "read 6 messages, 2 refused by their schema" in proc.stderr

    kcat = shutil.which("kcat")
    assert kcat, "kcat (Debian package kcat) is installed by deploy/local/bootstrap.sh"
    kcat_run = await asyncio.to_thread(
        subprocess.run,
        [kcat, "-b", infra.bootstrap, "-X", "security.protocol=SASL_SSL",
         "-X", "sasl.mechanisms=PLAIN", "-X", f"sasl.username={kafka.username}",
         "-X", f"sasl.password={kafka.password}", "-X", f"ssl.ca.location={kafka.ca_file}",
         "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%h\n"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    out = kcat_run.stdout
    assert out.count("type=job.completed") == 3 and out.count("type=job.failed") == 1
