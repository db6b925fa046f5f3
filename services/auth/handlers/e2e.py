"""Printers' ephemeral end-to-end keys: a printer publishes its offer (checked against
the device key auth holds), the people of its tenant read it back with that key."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from services.auth.domain.commands import PublishE2EKey
from services.auth.domain.errors import DeviceRevoked, E2EKeyNotFound
from services.auth.domain.model import DeviceCredential
from services.auth.repository import AuthRepository
from shared.crypto.e2e import E2EError, KeyOffer, verify_offer
from shared.crypto.keys import load_public_key_bytes
from shared.db.uow import Transactions
from shared.errors import FieldError, ValidationFailed
from shared.http.auth import Principal

MAX_OFFER_TTL_S = 7 * 24 * 3600
"""An offer may be valid for a week at most: a printer publishes a fresh one each start."""


@dataclass(frozen=True)
class PublishedKey:
    """A printer's current offer and the device key that signed it."""

    offer: KeyOffer
    credential: DeviceCredential


async def publish_e2e_key(
    tx: Transactions[AuthRepository], who: Principal, cmd: PublishE2EKey
) -> PublishedKey:
    """Keep the calling printer's offer once its signature checks with its device key."""
    device_id = who.require_device()
    offer = KeyOffer(device_id, cmd.key_id, cmd.public_key, cmd.expires_at, cmd.signature)
    if cmd.expires_at > time.time() + MAX_OFFER_TTL_S:
        reason = f"an offer is valid for at most {MAX_OFFER_TTL_S} s"
        raise ValidationFailed(reason, [FieldError("expires_at", reason)])
    async with tx() as uow:
        credential = await uow.repo.credentials.get(device_id)
        if credential is None or credential.revoked_at is not None:
            raise DeviceRevoked("this device's credential is revoked")
        if credential.subject_type != "printer":
            reason = "only a printer publishes an end-to-end key (it decrypts its own jobs)"
            raise ValidationFailed(reason, [FieldError("key_id", reason)])
        try:
            verify_offer(offer, load_public_key_bytes(credential.public_key), device_id)
        except E2EError as exc:
            raise ValidationFailed(str(exc), [FieldError("signature", str(exc))]) from None
        await uow.repo.e2e_keys.put(credential.tenant_id, offer)
    return PublishedKey(offer, credential)


async def e2e_key_of(
    tx: Transactions[AuthRepository], who: Principal, device_id: uuid.UUID
) -> PublishedKey:
    """A printer's current offer, for the people of its tenant: with the device key that
    signed it, so the sender checks the signature itself."""
    missing = E2EKeyNotFound(
        "this printer has no end-to-end key: it is offline, or not a printer of yours",
        [FieldError("device_id", "no current end-to-end key")],
    )
    async with tx() as uow:
        credential = await uow.repo.credentials.get(device_id)
        if credential is None or not who.can_access(credential.tenant_id):
            raise missing
        offer = await uow.repo.e2e_keys.get(device_id)
    if credential.revoked_at is not None or offer is None or offer.expires_at <= time.time():
        raise missing
    return PublishedKey(offer, credential)
