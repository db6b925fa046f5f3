"""Device credentials (owner: auth). The gateway keeps every device's current key
from these events, so a device can log in on any replica without asking auth."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.envelope import EventData


class _CredentialEvent(EventData):
    device_id: uuid.UUID
    tenant_id: uuid.UUID
    fingerprint: str = Field(description="Lowercase hex SHA-256 of the key's SPKI DER.")

    def partition_key(self) -> str:
        return str(self.device_id)


class DeviceCredentialIssued(_CredentialEvent):
    """A device's public key is now the one it authenticates with."""

    event_type: ClassVar[str] = "device_credential.issued"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "auth.device-credentials"

    subject_type: Literal["printer", "connector"] = Field(description="What the device is.")
    subject_id: uuid.UUID = Field(description="The printer or connector (equals device_id).")
    public_key: str = Field(description="base64url of the key's SubjectPublicKeyInfo DER.")
    key_algorithm: Literal["ed25519", "ecdsa-p256"] = Field(description="The key's algorithm.")
    issued_at: AwareDatetime = Field(description="When auth issued the credential.")


class DeviceCredentialRevoked(_CredentialEvent):
    """A device's key no longer authenticates it."""

    event_type: ClassVar[str] = "device_credential.revoked"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "auth.device-credentials"

    revoked_at: AwareDatetime = Field(description="When it was revoked.")
    reason: Literal["revoked", "replaced"] = Field(
        description="Revoked by an administrator, or replaced by a new claim of the device."
    )


EVENTS = (DeviceCredentialIssued, DeviceCredentialRevoked)
