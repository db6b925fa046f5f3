"""Device keys, cached from auth's ``auth.device-credentials`` topic.

Every replica reads the whole (compacted) topic from the start and follows it,
so a device can authenticate on any replica without a call to auth, and a
revocation takes effect everywhere within the topic's latency.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from shared.crypto.encoding import b64url_decode
from shared.crypto.keys import PublicKey, load_public_key_bytes
from shared.events.contracts.auth import DeviceCredentialIssued, DeviceCredentialRevoked
from shared.events.registry import EventDecodeError, EventRegistry
from shared.kafka.access import KafkaAccess
from shared.kafka.replay import replay_and_follow
from shared.logging import get_logger

log = get_logger(__name__)
TOPIC = DeviceCredentialIssued.topic
REGISTRY = EventRegistry([DeviceCredentialIssued, DeviceCredentialRevoked])


@dataclass(frozen=True)
class Credential:
    """A device's identity and the key it proves it with."""

    device_id: uuid.UUID
    tenant_id: uuid.UUID
    kind: str
    fingerprint: str
    key: PublicKey


class CredentialCache:
    """fingerprint -> credential, kept current from the topic; ``ready`` once caught up."""

    def __init__(
        self, kafka: KafkaAccess, on_change: Callable[[uuid.UUID], None] | None = None
    ) -> None:
        self._kafka = kafka
        self._on_change = on_change  # told of every device whose credential changed
        self._by_fingerprint: dict[str, Credential] = {}
        self._by_device: dict[uuid.UUID, str] = {}
        self.ready = asyncio.Event()

    def lookup(self, fingerprint: str) -> Credential | None:
        """The live credential with this key fingerprint, if any."""
        return self._by_fingerprint.get(fingerprint)

    def __len__(self) -> int:
        return len(self._by_fingerprint)

    async def run(self, stop: asyncio.Event) -> None:
        """Read the topic from the beginning, then follow it until ``stop``."""
        await replay_and_follow(
            self._kafka,
            TOPIC,
            self._apply,
            self.ready,
            stop,
            what="device credentials",
            poll_ms=500,
        )

    def _apply(self, raw: bytes | None) -> None:
        try:
            event = REGISTRY.decode(raw)
        except EventDecodeError as exc:
            log.warning("unreadable credential event skipped", reason=exc.reason)
            return
        data = event.data
        old = self._by_device.pop(data.device_id, None)  # type: ignore[attr-defined]
        if old is not None:
            self._by_fingerprint.pop(old, None)
        if isinstance(data, DeviceCredentialIssued):
            key = load_public_key_bytes(b64url_decode(data.public_key))
            self._by_fingerprint[data.fingerprint] = Credential(
                data.device_id, data.tenant_id, data.subject_type, data.fingerprint, key
            )
            self._by_device[data.device_id] = data.fingerprint
        if self._on_change is not None:
            self._on_change(data.device_id)  # type: ignore[attr-defined]
