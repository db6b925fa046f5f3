"""Bad messages on every consumed topic are parked on the dead-letter topic, and the
consumer carries on.

For every consumer group of every service in ``SERVICES`` (its ``ConsumerSpec`` list,
as the service process builds it) and every topic it reads, four bad messages are
produced: bytes that are not JSON, a known type in an unknown version, a known type
whose payload fails its model, and an envelope missing fields. Each must appear on
``printcloud.dead-letter`` unchanged, with the reason, the consumer and its original
topic/partition/offset in headers; then a valid event produced after them is applied
(the service's inbox records it) and the group's offsets move past all of them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from cryptography.hazmat.primitives.asymmetric import ed25519

from deploy.catalog import database_services, load_spec
from shared.crypto.encoding import b64url_encode
from shared.crypto.keys import fingerprint, spki_der
from shared.events.contracts.commands import DeviceCommandAcked
from shared.events.contracts.devices import DeviceClaimed
from shared.events.contracts.gateway import DeviceCapabilitiesReported, DeviceConnected
from shared.events.envelope import EventData, new_envelope
from shared.kafka.producer import create_producer
from shared.kafka.topics import DEAD_LETTER_TOPIC
from shared.printing.capabilities import Capabilities
from shared.service import Runtime
from shared.testing.infra import TestInfra
from tests.support.kafka import kafka_options
from tests.support.platform import Platform, new_tenant, partitions, running_platform
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e


def _cases() -> list[Any]:
    """(service, consumer index, topic) for every consumed topic; read without starting
    anything (consumer specs only build their handlers)."""
    cases = []
    for name in database_services():
        for index, consumer in enumerate(_consumers(name)):
            for topic in consumer.topics:
                cases.append(pytest.param(name, index, topic, id=f"{consumer.name}:{topic}"))
    # (Built with the service name as schema, so consumer names read "<service>-<group>".)
    return cases


def _consumers(name: str, schema: str | None = None) -> list[Any]:
    """The service's ConsumerSpecs as its process builds them (handlers are built, not
    called, so unvalidated settings and no pool are enough)."""
    spec = load_spec(name)
    settings = spec.settings_cls.model_construct()
    rt = Runtime(spec=spec, settings=settings, pool=None, schema=schema or name)  # type: ignore[arg-type]
    return list(spec.consumers(rt))


CASES = _cases()


@pytest.fixture(scope="module")
async def platform(
    infra: TestInfra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Platform]:
    async with running_platform(
        infra.bootstrap, infra.admin_dsn, tmp_path_factory.mktemp("dlq")
    ) as started:
        yield started


# ---------------------------------------------------------------- valid events per topic

Sample = Callable[[Platform, aiohttp.ClientSession], Awaitable[EventData]]


async def _printer(platform: Platform, http: aiohttp.ClientSession) -> tuple[uuid.UUID, uuid.UUID]:
    tenant = await new_tenant(http, platform)
    body = {"tenant_id": tenant, "name": "P", "model": "M", "region": "eu-west"}
    resp = await http.post(
        platform.url("registry") + "/v1/printers", json=body, headers=platform.operator
    )
    assert resp.status == 201, await resp.text()
    return uuid.UUID((await resp.json())["id"]), uuid.UUID(tenant)


async def _connected(platform: Platform, http: aiohttp.ClientSession) -> EventData:
    printer, tenant = await _printer(platform, http)
    return DeviceConnected(
        device_id=printer, tenant_id=tenant, session_id=uuid.uuid4(), gateway="gw-fuzz",
        at=datetime.now(UTC),
    )  # fmt: skip


async def _capabilities(platform: Platform, http: aiohttp.ClientSession) -> EventData:
    printer, tenant = await _printer(platform, http)
    caps = Capabilities.model_validate(
        {"document_format_supported": ["application/pdf"], "media_supported": ["iso_a4_210x297mm"]}
    )
    return DeviceCapabilitiesReported(
        device_id=printer, tenant_id=tenant, capabilities=caps, reported_at=datetime.now(UTC)
    )


async def _acked(platform: Platform, http: aiohttp.ClientSession) -> EventData:
    printer, tenant = await _printer(platform, http)
    resp = await http.post(
        f"{platform.url('registry')}/v1/devices/{printer}/commands",
        json={"name": "identify"},
        headers=platform.operator,
    )
    assert resp.status == 202, await resp.text()
    return DeviceCommandAcked(
        command_id=uuid.UUID((await resp.json())["command_id"]), device_id=printer,
        tenant_id=tenant, outcome="done", session_id=uuid.uuid4(), at=datetime.now(UTC),
    )  # fmt: skip


async def _claimed(platform: Platform, http: aiohttp.ClientSession) -> EventData:
    der = spki_der(ed25519.Ed25519PrivateKey.generate().public_key())
    return DeviceClaimed(
        device_id=uuid.uuid4(), tenant_id=uuid.uuid4(), subject_type="printer",
        public_key=b64url_encode(der), key_algorithm="ed25519", fingerprint=fingerprint(der),
        model="Fuzz 1", claimed_at=datetime.now(UTC),
    )  # fmt: skip


# An event the service applies, for each (service, topic). A topic without one here is
# still checked for parking, and for carrying on by a fifth bad message produced after
# the four, which must be parked too.
SAMPLES: dict[tuple[str, str], Sample] = {
    ("registry-device-state", "devices.presence"): _connected,
    ("registry-device-state", "devices.telemetry"): _capabilities,
    ("registry-command-ledger", "devices.command-acks"): _acked,
    ("auth-device-claims", "registry.devices"): _claimed,
}


# ---------------------------------------------------------------- helpers


def _handled_type(name: str, index: int, topic: str) -> tuple[str, int]:
    """A (type, version) the consumer handles, preferably one that lives on ``topic``."""
    spec = load_spec(name)
    consumer = _consumer(name, index)
    handled = set(consumer.handlers) | set(consumer.batch_handlers)
    models = [m for m in spec.registry.models() if m.event_type in handled]
    on_topic = [m for m in models if m.topic == topic] or models
    model = sorted(on_topic, key=lambda m: (m.event_type, m.event_version))[0]
    return model.event_type, model.event_version


def _consumer(name: str, index: int, schema: str | None = None) -> Any:
    return _consumers(name, schema)[index]


def _envelope(type_: str, version: int, data: dict[str, Any], key: str) -> dict[str, Any]:
    event_id = uuid.uuid4()
    return {
        "event_id": str(event_id), "type": type_, "version": version,
        "occurred_at": datetime.now(UTC).isoformat(), "tenant_id": None, "source": "fuzz",
        "correlation_id": str(event_id), "causation_id": None, "key": key, "data": data,
    }  # fmt: skip


async def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**kafka_options(bootstrap))
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(await partitions(bootstrap, [topic])))
    finally:
        await consumer.stop()


async def _dead_letters(
    bootstrap: str, start: dict[TopicPartition, int], keys: set[bytes], consumer_name: str
) -> dict[bytes, Any]:
    """The records ``consumer_name`` parked with one of ``keys``, read from ``start``
    (other consumers of the topic, ours or other runs', park them too)."""
    consumer = AIOKafkaConsumer(**kafka_options(bootstrap), enable_auto_commit=False)
    await consumer.start()
    found: dict[bytes, Any] = {}
    try:
        consumer.assign(list(start))
        for tp, offset in start.items():
            consumer.seek(tp, offset)

        async def all_parked() -> bool:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    if r.key in keys and ("dlq.consumer", consumer_name.encode()) in r.headers:
                        found[r.key] = r
            return set(found) == keys

        await eventually(all_parked, timeout=60)
    finally:
        await consumer.stop()
    return found


# ---------------------------------------------------------------- the test


@pytest.mark.parametrize(("service", "index", "topic"), CASES)
async def test_bad_messages_are_parked_and_the_consumer_carries_on(
    platform: Platform, infra: TestInfra, service: str, index: int, topic: str
) -> None:
    consumer = _consumer(service, index, platform.schema(service))
    type_, version = _handled_type(service, index, topic)
    run = uuid.uuid4().hex[:12]
    bad: dict[str, tuple[bytes, str]] = {
        "not-json": (b"\xff\xfe not json " + run.encode(), "not UTF-8 JSON"),
        "unknown-version": (
            json.dumps(_envelope(type_, 999, {}, f"{run}-v")).encode(),
            f"unknown version 999 of event type {type_!r}",
        ),
        "invalid-payload": (
            json.dumps(_envelope(type_, version, {"unexpected": [run]}, f"{run}-p")).encode(),
            f"invalid payload for {type_} v{version}",
        ),
        "missing-fields": (
            json.dumps({"type": type_, "version": version, "data": {}}).encode(),
            "invalid envelope",
        ),
    }
    dlq_start = await _end_offsets(infra.bootstrap, DEAD_LETTER_TOPIC)
    producer = create_producer(infra.kafka, client_id="dlq-fuzz")
    await producer.start()
    try:
        sent = {}
        for label, (value, _) in bad.items():
            key = f"{run}-{label}".encode()
            sent[key] = await producer.send_and_wait(topic, value, key=key)
        group = consumer.name.removeprefix(platform.schema(service) + "-")
        sample = SAMPLES.get((f"{service}-{group}", topic))
        envelope = valid = None
        if sample is not None:
            async with aiohttp.ClientSession() as http:
                data = await sample(platform, http)
            handled = set(consumer.handlers) | set(consumer.batch_handlers)
            assert data.event_type in handled, f"{consumer.name} does not handle {data}"
            envelope = new_envelope(data, source="fuzz", tenant_id=None)
            valid = await producer.send_and_wait(
                topic, envelope.to_bytes(), key=envelope.key.encode(),
                headers=envelope.kafka_headers(),
            )  # fmt: skip
        else:
            print(f"no valid sample for {service} on {topic}: carrying on shown by a 5th")
            bad["after"] = (b"after " + run.encode(), "not UTF-8 JSON")
            key = f"{run}-after".encode()
            sent[key] = await producer.send_and_wait(topic, bad["after"][0], key=key)
    finally:
        await producer.stop()

    parked = await _dead_letters(infra.bootstrap, dlq_start, set(sent), consumer.name)
    for label, (value, reason) in bad.items():
        key = f"{run}-{label}".encode()
        record, meta = parked[key], sent[key]
        headers = {k: v.decode() for k, v in record.headers}
        assert record.value == value, label
        assert reason in headers["dlq.reason"], (label, headers["dlq.reason"])
        assert headers["dlq.consumer"] == consumer.name
        assert headers["dlq.topic"] == topic
        assert (int(headers["dlq.partition"]), int(headers["dlq.offset"])) == (
            meta.partition, meta.offset,
        )  # fmt: skip

    assert platform.processes[service].is_running()
    if envelope is None or valid is None:
        return
    # The valid event after them is applied: the service's inbox has it.
    conn = await asyncpg.connect(platform.dsn(service))
    try:

        async def applied() -> bool:
            row = await conn.fetchval(
                f'SELECT kafka_offset FROM "{platform.schema(service)}".processed_events '
                "WHERE consumer = $1 AND event_id = $2",
                consumer.name,
                envelope.event_id,
            )
            return row == valid.offset

        await eventually(applied, timeout=60)
    finally:
        await conn.close()
