"""What auth learns from the registry: a claimed device's credential, and the printers
each connector bridges. Applied inside the consumer's inbox transaction."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from services.auth.domain.events import DeviceCredentialIssued
from services.auth.domain.model import DeviceCredential
from services.auth.handlers.devices import credential_revoked
from services.auth.repository import AuthRepository
from shared.crypto.encoding import b64url_decode
from shared.crypto.keys import (
    KeyFormatError,
    fingerprint,
    key_algorithm,
    load_public_key_bytes,
    spki_der,
)
from shared.db.uow import UnitOfWork
from shared.errors import PermanentEventError
from shared.events.contracts.devices import ConnectorDevicesChanged, DeviceClaimed


def checked_key(claim: DeviceClaimed) -> bytes:
    """The claim's SPKI DER, after checking it against its algorithm and fingerprint."""
    try:
        der = b64url_decode(claim.public_key)
        key = load_public_key_bytes(der)
    except (ValueError, KeyFormatError) as exc:
        raise PermanentEventError(f"public_key: {exc}") from None
    if spki_der(key) != der:
        raise PermanentEventError("public_key: not a SubjectPublicKeyInfo DER")
    if key_algorithm(key) != claim.key_algorithm:
        raise PermanentEventError(f"public_key is {key_algorithm(key)}, not {claim.key_algorithm}")
    if fingerprint(der) != claim.fingerprint:
        raise PermanentEventError("fingerprint does not match public_key")
    return der


def credential_of(claim: DeviceClaimed, der: bytes, now: datetime) -> DeviceCredential:
    """The credential a claim issues: the key bound to the claimed printer or connector."""
    return DeviceCredential(
        device_id=claim.device_id,
        tenant_id=claim.tenant_id,
        subject_type=claim.subject_type,
        subject_id=claim.device_id,
        public_key=der,
        key_algorithm=claim.key_algorithm,
        fingerprint=claim.fingerprint,
        model=claim.model,
        claimed_at=claim.claimed_at,
        issued_at=now,
        revoked_at=None,
    )


def _issued(c: DeviceCredential, claim: DeviceClaimed) -> DeviceCredentialIssued:
    return DeviceCredentialIssued(
        device_id=c.device_id,
        tenant_id=c.tenant_id,
        fingerprint=c.fingerprint,
        subject_type=claim.subject_type,
        subject_id=c.subject_id,
        public_key=claim.public_key,
        key_algorithm=claim.key_algorithm,
        issued_at=c.issued_at,
    )


async def device_claimed(uow: UnitOfWork[AuthRepository], claim: DeviceClaimed) -> None:
    """Issue the claimed device's credential, replacing an older one of that device."""
    der = checked_key(claim)
    credentials = uow.repo.credentials
    current = await credentials.get(claim.device_id, for_update=True)
    if current is not None and claim.claimed_at <= current.claimed_at:
        return  # this claim, or an older one, was applied already
    holder = await credentials.active_device_with_key(claim.fingerprint)
    if holder is not None and holder != claim.device_id:
        raise PermanentEventError(f"the key already authenticates device {holder}")
    now = datetime.now(UTC)
    if current is not None and current.revoked_at is None:
        old = replace(current, revoked_at=now)
        await uow.emit(credential_revoked(old, "replaced"), tenant_id=old.tenant_id)
    issued = credential_of(claim, der, now)
    await credentials.put(issued)
    await uow.emit(_issued(issued, claim), tenant_id=issued.tenant_id)


def _printer_ids(change: ConnectorDevicesChanged) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(d["printer_id"]) for d in change.devices]
    except (KeyError, ValueError):
        raise PermanentEventError("devices: each entry needs a printer_id (a UUID)") from None


async def connector_devices_changed(repo: AuthRepository, change: ConnectorDevicesChanged) -> None:
    """Remember the printers a connector bridges (an older revision changes nothing)."""
    await repo.connectors.put(
        change.connector_id, change.tenant_id, change.revision, _printer_ids(change)
    )
