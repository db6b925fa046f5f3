"""The broker lets in only known users, over TLS, and lets each do only what
shared/kafka/acls.py allows: no anonymous or plaintext client, no wrong password, no
service writing a topic another service owns (a forged ``device_credential.issued``
would let anyone impersonate a printer), an analytics user that reads and never
writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    NotLeaderForPartitionError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.crypto.encoding import b64url_encode
from shared.crypto.keys import fingerprint, spki_der
from shared.events.contracts.auth import DeviceCredentialIssued
from shared.events.envelope import new_envelope
from shared.kafka.access import SASL_MECHANISM, KafkaAccess
from shared.kafka.acls import ANALYTICS_USER
from shared.testing.infra import TestInfra
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("topics")]

# Read by no service: what these tests write there disturbs no one.
QUIET_TOPIC = "registry.tenants"


async def _connects(access: KafkaAccess, mechanism: str = SASL_MECHANISM) -> None:
    """Start and stop a producer: the connection and the authentication succeed."""
    producer = AIOKafkaProducer(**_options(access, mechanism), request_timeout_ms=10_000)
    await producer.start()
    await producer.stop()


async def _refused(access: KafkaAccess, mechanism: str = SASL_MECHANISM) -> None:
    producer = AIOKafkaProducer(**_options(access, mechanism), request_timeout_ms=10_000)
    with pytest.raises(KafkaConnectionError):
        await producer.start()
    await producer.stop()


def _options(access: KafkaAccess, mechanism: str) -> dict[str, object]:
    options = access.client_options()
    if access.username:
        options["sasl_mechanism"] = mechanism
    return options


async def _produce(access: KafkaAccess, topic: str, value: bytes, key: bytes = b"k") -> None:
    producer = AIOKafkaProducer(**access.client_options(), acks="all", request_timeout_ms=10_000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _produce_allowed(access: KafkaAccess, topic: str, value: bytes, key: bytes) -> None:
    """Produce what ``access`` may, once the topic's leader is known (topics created a
    moment ago may not have one yet)."""

    async def produced() -> bool:
        try:
            await _produce(access, topic, value, key)
        except (NotLeaderForPartitionError, UnknownTopicOrPartitionError):
            return False
        return True

    await eventually(produced, 60, f"a write to {topic}", interval=0.5)


def _forged_credential() -> bytes:
    """A well-formed ``device_credential.issued`` for a key the forger holds."""
    device = uuid.uuid4()
    der = spki_der(Ed25519PrivateKey.generate().public_key())
    data = DeviceCredentialIssued(
        device_id=device, tenant_id=uuid.uuid4(), fingerprint=fingerprint(der),
        subject_type="printer", subject_id=device, public_key=b64url_encode(der),
        key_algorithm="ed25519", issued_at=datetime.now(UTC),
    )  # fmt: skip
    return new_envelope(data, source="auth", tenant_id=data.tenant_id).to_bytes()


async def test_only_known_users_with_their_password_connect(infra: TestInfra) -> None:
    registry = infra.access("registry")
    await _connects(registry)
    await _refused(KafkaAccess(infra.bootstrap))  # plaintext, anonymous
    await _refused(registry.as_user("registry", "not-the-password"))
    await _refused(registry.as_user("nobody", registry.password))
    # PLAIN, over the same TLS, for clients whose SCRAM predates Kafka 4 (kcat)
    await _connects(registry, "PLAIN")
    await _refused(registry.as_user("registry", "not-the-password"), "PLAIN")


async def test_a_service_cannot_write_a_topic_another_service_owns(infra: TestInfra) -> None:
    gateway = infra.access("gateway")
    await _produce_allowed(gateway, "devices.telemetry", b"not an event", b"gateway-owns-this")
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(gateway, DeviceCredentialIssued.topic, _forged_credential())
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(infra.access("queues"), QUIET_TOPIC, b"registry owns it")


async def test_a_service_reads_only_what_it_consumes(infra: TestInfra) -> None:
    consumer = AIOKafkaConsumer(
        "auth.users", **infra.access("gateway").client_options(), auto_offset_reset="earliest"
    )
    with pytest.raises(TopicAuthorizationFailedError):
        await _consume_until_refused(consumer)


async def _consume_until_refused(consumer: AIOKafkaConsumer) -> None:
    """Start ``consumer`` and poll it until the broker refuses it (start or a poll raises)."""

    async def poll() -> bool:
        await consumer.getmany(timeout_ms=500)
        return False

    try:
        await consumer.start()
        await eventually(poll, 30, "a refusal")
    finally:
        await consumer.stop()


async def test_the_analytics_user_reads_and_never_writes(infra: TestInfra) -> None:
    marker = f"analytics-probe-{uuid.uuid4()}".encode()
    await _produce_allowed(infra.kafka, QUIET_TOPIC, marker, b"k")
    analytics = infra.access(ANALYTICS_USER)
    consumer = AIOKafkaConsumer(
        QUIET_TOPIC,
        **analytics.client_options(),
        group_id=f"{ANALYTICS_USER}-test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen: list[bytes] = []

    async def read() -> bool:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            seen.extend(r.value for r in records if r.value is not None)
        return marker in seen

    try:
        await eventually(read, 60, "the analytics user reading the marker")
    finally:
        await consumer.stop()
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(analytics, QUIET_TOPIC, b"analytics never writes")
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(analytics, DeviceCredentialIssued.topic, _forged_credential())


async def test_a_user_joins_only_its_own_consumer_groups(infra: TestInfra) -> None:
    consumer = AIOKafkaConsumer(
        QUIET_TOPIC,
        **infra.access(ANALYTICS_USER).client_options(),
        group_id="queues-jobs",
        auto_offset_reset="earliest",
    )
    with pytest.raises(GroupAuthorizationFailedError):
        await _consume_until_refused(consumer)
