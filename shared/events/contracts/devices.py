"""Events the registry publishes about devices being claimed (owner: registry).

A device is a printer or a connector; ``device_id`` equals that printer's or
connector's id. When an administrator claims a device for a tenant, the registry
publishes :class:`DeviceClaimed` with the device's public key; the auth service
turns it into a device credential that the gateway checks signed nonces against.
On the same topic, :class:`ConnectorRegistered` and :class:`ConnectorDevicesChanged`
say which printers each connector bridges (auth lets a connector act for those).
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.envelope import EventData

FINGERPRINT_PATTERN = r"^[0-9a-f]{64}$"
BASE64URL_PATTERN = r"^[A-Za-z0-9_-]+$"


class DeviceClaimed(EventData):
    """A printer or connector was claimed for a tenant, with its public key."""

    event_type: ClassVar[str] = "device.claimed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "registry.devices"

    device_id: uuid.UUID = Field(description="The printer's or the connector's id.")
    tenant_id: uuid.UUID
    subject_type: Literal["printer", "connector"]
    public_key: str = Field(
        min_length=40,
        max_length=400,
        pattern=BASE64URL_PATTERN,
        description="base64url (unpadded) of the key's SubjectPublicKeyInfo DER.",
    )
    key_algorithm: Literal["ed25519", "ecdsa-p256"]
    fingerprint: str = Field(
        pattern=FINGERPRINT_PATTERN,
        description="Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER.",
    )
    model: str = Field(min_length=1, max_length=200, description="Make and model.")
    claimed_at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.device_id)


class ConnectorRegistered(EventData):
    """A connector (a site agent bridging printers) was claimed for a tenant."""

    event_type: ClassVar[str] = "connector.registered"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "registry.devices"

    connector_id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    model: str
    region: str
    location: str | None

    def partition_key(self) -> str:
        return str(self.connector_id)


class ConnectorDevicesChanged(EventData):
    """The list of printers a connector is responsible for was replaced."""

    event_type: ClassVar[str] = "connector.devices_changed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "registry.devices"

    connector_id: uuid.UUID
    tenant_id: uuid.UUID
    revision: int = Field(ge=2)
    devices: list[dict[str, str]] = Field(
        description="Each printer as {printer_id, uri} (and files_uri where it takes files): "
        "the whole list after the change."
    )

    def partition_key(self) -> str:
        return str(self.connector_id)


EVENTS = (DeviceClaimed, ConnectorRegistered, ConnectorDevicesChanged)
