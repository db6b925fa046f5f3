"""A bare device for tests: a key pair and the raw websocket protocol, nothing more."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric import ed25519

from shared.crypto.encoding import b64url_encode
from shared.crypto.keys import fingerprint, spki_der
from shared.crypto.signatures import sign
from shared.events.contracts.auth import DeviceCredentialIssued
from shared.events.envelope import new_envelope
from shared.protocols.device import auth_message
from tests.support.kafka import kafka_options


class TestDevice:
    """A device identity plus helpers to speak the protocol by hand."""

    __test__ = False

    def __init__(self, device_id: uuid.UUID | None = None, tenant_id: uuid.UUID | None = None):
        self.key = ed25519.Ed25519PrivateKey.generate()
        self.der = spki_der(self.key.public_key())
        self.fingerprint = fingerprint(self.der)
        self.device_id = device_id or uuid.uuid4()
        self.tenant_id = tenant_id or uuid.uuid4()

    async def issue_credential(self, bootstrap: str, kind: str = "printer") -> None:
        """Publish the credential as auth does after a claim."""
        data = DeviceCredentialIssued(
            device_id=self.device_id,
            tenant_id=self.tenant_id,
            fingerprint=self.fingerprint,
            subject_type=kind,
            subject_id=self.device_id,
            public_key=b64url_encode(self.der),
            key_algorithm="ed25519",
            issued_at=datetime.now(UTC),
        )  # type: ignore[arg-type]
        env = new_envelope(data, source="auth", tenant_id=self.tenant_id)
        producer = AIOKafkaProducer(**kafka_options(bootstrap))
        await producer.start()
        try:
            await producer.send_and_wait(data.topic, env.to_bytes(), key=env.key.encode())
        finally:
            await producer.stop()

    def auth_frame(self, nonce: str, **override: Any) -> dict[str, Any]:
        frame = {
            "type": "auth", "protocol": 1, "fingerprint": self.fingerprint,
            "signature": b64url_encode(sign(self.key, auth_message(nonce))),
            "device_id": str(self.device_id),
        }  # fmt: skip
        frame.update(override)
        return frame

    async def connect(
        self, http: aiohttp.ClientSession, url: str, **override: Any
    ) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
        """Open, authenticate; returns the socket and the gateway's answer."""
        ws = await http.ws_connect(url)
        hello = json.loads((await ws.receive(timeout=10)).data)
        assert hello["type"] == "hello"
        await ws.send_json(self.auth_frame(hello["nonce"], **override))
        answer = await ws.receive(timeout=10)
        return ws, json.loads(answer.data) if answer.type == aiohttp.WSMsgType.TEXT else {}


async def next_frame(ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 15) -> Any:
    """The next frame of ``kind`` (others are skipped)."""
    while True:
        msg = await ws.receive(timeout=timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"socket ended: {msg.type} {msg.data} {msg.extra}")
        frame = json.loads(msg.data)
        if frame["type"] == kind:
            return frame
