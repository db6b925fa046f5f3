"""Device credentials: auth applies the registry's device.claimed exactly once, serves the
key to admins and to the gateway's service account, and revokes it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shared.crypto.encoding import b64url_encode
from shared.crypto.keys import fingerprint, key_algorithm, load_public_key, spki_der
from shared.crypto.signatures import new_nonce, sign, verify
from shared.events.contracts.devices import DeviceClaimed
from shared.events.envelope import Envelope, new_envelope
from shared.service import RUNTIME
from shared.testing.fixtures import ServiceDbFactory
from tests.support.auth import (
    OPERATOR,
    auth_client,
    login,
    problem,
)
from tests.support.kafka import dead_letters, envelopes, kafka_options, publish
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
TOPIC = "registry.devices"


@pytest.fixture(scope="module")
async def auth(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[TestClient]:
    async with auth_client(service_db, bootstrap) as c:
        yield c


def _claim(
    private: Any, tenant: uuid.UUID, device: uuid.UUID | None = None, **overrides: Any
) -> DeviceClaimed:
    der = spki_der(private.public_key())
    fields: dict[str, Any] = {
        "device_id": device or uuid.uuid4(),
        "tenant_id": tenant,
        "subject_type": "printer",
        "public_key": b64url_encode(der),
        "key_algorithm": key_algorithm(private.public_key()),
        "fingerprint": fingerprint(der),
        "model": "LaserJet 9",
        "claimed_at": datetime.now(UTC),
    }
    return DeviceClaimed(**{**fields, **overrides})


async def _publish(bootstrap: str, *envelopes: Envelope) -> list[tuple[int, int]]:
    """Publish as the registry's relay would; returns (partition, offset) of each."""
    sent = await publish(bootstrap, *((TOPIC, e) for e in envelopes), client_id="test-registry")
    return [(p.partition, p.offset) for p in sent]


async def _wait_consumed(auth: TestClient, bootstrap: str, sent: list[tuple[int, int]]) -> None:
    group = f"{auth.app[RUNTIME].schema}-device-claims"
    admin = AIOKafkaAdminClient(**kafka_options(bootstrap))
    await admin.start()
    try:

        async def committed() -> bool:
            try:
                offsets = await admin.list_consumer_group_offsets(group)
            except KafkaError:  # the group's coordinator is still being elected
                return False
            return all(
                (o := offsets.get(TopicPartition(TOPIC, p))) is not None and o.offset > offset
                for p, offset in sent
            )

        await eventually(committed)
    finally:
        await admin.close()


def _envelope(claim: DeviceClaimed) -> Envelope:
    return new_envelope(claim, source="registry", tenant_id=claim.tenant_id)


async def test_a_claim_delivered_twice_issues_one_credential(
    auth: TestClient, bootstrap: str
) -> None:
    tenant = uuid.uuid4()
    private = ed25519.Ed25519PrivateKey.generate()
    claim = _claim(private, tenant)
    envelope = _envelope(claim)
    sent = await _publish(bootstrap, envelope, envelope)
    await _wait_consumed(auth, bootstrap, sent)

    resp = await auth.get(f"/v1/device-credentials/{claim.device_id}", headers=OPERATOR)
    assert resp.status == 200, await resp.text()
    credential = await resp.json()
    assert credential["status"] == "active" and credential["fingerprint"] == claim.fingerprint
    assert (credential["subject_type"], credential["subject_id"]) == (
        "printer",
        str(claim.device_id),
    )
    events = await envelopes(
        bootstrap, "auth.device-credentials", key=str(claim.device_id), count=1, settle_s=1.0
    )
    assert [e["type"] for e in events] == ["device_credential.issued"]
    assert events[0]["causation_id"] == str(envelope.event_id)
    assert events[0]["correlation_id"] == str(envelope.correlation_id)

    # What the gateway does with it: verify a signed nonce against the served key.
    nonce = new_nonce()
    key = load_public_key(credential["public_key"])
    assert verify(key, nonce, sign(private, nonce))
    assert not verify(key, nonce, sign(ed25519.Ed25519PrivateKey.generate(), nonce))


async def test_who_may_read_and_revoke_a_device_credential(
    auth: TestClient, bootstrap: str
) -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    claim = _claim(ec.generate_private_key(ec.SECP256R1()), mine, subject_type="connector")
    foreign = _claim(ed25519.Ed25519PrivateKey.generate(), theirs)
    await _wait_consumed(
        auth, bootstrap, await _publish(bootstrap, *map(_envelope, (claim, foreign)))
    )
    _, admin = await login(auth, str(mine), ["admin"], ["devices:read", "devices:write"])
    _, user = await login(auth, str(mine), ["user"], ["printers:read"])
    _, gateway = await login(
        auth, None, [], ["devices:verify"], kind="service", display_name="gateway"
    )
    path = "/v1/device-credentials/{}"

    mine_resp = await auth.get(path.format(claim.device_id), headers=admin)
    assert (await mine_resp.json())["key_algorithm"] == "ecdsa-p256"
    for target in (foreign.device_id, claim.device_id):
        assert (await auth.get(path.format(target), headers=gateway)).status == 200
    assert (await auth.get(path.format(claim.device_id), headers=user)).status == 403
    for suffix, method in (("", "GET"), ("/revoke", "POST")):
        answers = []
        for target in (foreign.device_id, uuid.uuid4()):
            resp = await auth.request(method, path.format(target) + suffix, headers=admin)
            body = await problem(resp)
            answers.append((resp.status, body["code"], body["detail"]))
        assert answers[0] == answers[1] and answers[0][:2] == (404, "device-credential-not-found")
    assert (
        await auth.post(path.format(claim.device_id) + "/revoke", headers=gateway)
    ).status == 403

    revoked = await auth.post(path.format(claim.device_id) + "/revoke", headers=admin)
    assert (await revoked.json())["status"] == "revoked"
    again = await auth.post(path.format(claim.device_id) + "/revoke", headers=admin)
    assert (await again.json())["revoked_at"] == (await revoked.json())["revoked_at"]
    events = await envelopes(
        bootstrap, "auth.device-credentials", key=str(claim.device_id), count=2, settle_s=0.5
    )
    assert [e["type"] for e in events] == ["device_credential.issued", "device_credential.revoked"]
    assert events[1]["data"]["reason"] == "revoked"
    still = await auth.get(path.format(foreign.device_id), headers=OPERATOR)
    assert (await still.json())["status"] == "active"


async def test_a_new_claim_replaces_the_key_and_a_bad_claim_is_parked(
    auth: TestClient, bootstrap: str
) -> None:
    tenant, device = uuid.uuid4(), uuid.uuid4()
    first = _claim(ed25519.Ed25519PrivateKey.generate(), tenant, device)
    second = _claim(
        ed25519.Ed25519PrivateKey.generate(),
        tenant,
        device,
        claimed_at=first.claimed_at + timedelta(minutes=5),
    )
    bad = _claim(ed25519.Ed25519PrivateKey.generate(), tenant, fingerprint="0" * 64)
    sent = await _publish(bootstrap, *map(_envelope, (first, second, bad)))
    await _wait_consumed(auth, bootstrap, sent)

    current = await (await auth.get(f"/v1/device-credentials/{device}", headers=OPERATOR)).json()
    assert current["fingerprint"] == second.fingerprint and current["status"] == "active"
    events = await envelopes(bootstrap, "auth.device-credentials", key=str(device), count=3)
    assert [(e["type"], e["data"].get("reason")) for e in events] == [
        ("device_credential.issued", None),
        ("device_credential.revoked", "replaced"),
        ("device_credential.issued", None),
    ]
    missing = await auth.get(f"/v1/device-credentials/{bad.device_id}", headers=OPERATOR)
    assert missing.status == 404
    parked, *_ = await dead_letters(bootstrap, keys=[str(bad.device_id)])
    assert "fingerprint does not match" in parked.reason
