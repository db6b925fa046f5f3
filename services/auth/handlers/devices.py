"""Devices: their credentials (issued when the registry announces a claim, revoked by
administrators), device access tokens for signed timestamps, and login challenges to
show as QR codes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from services.auth.domain.commands import DeviceTokenRequest, RequestLoginChallenge
from services.auth.domain.errors import (
    ClockSkew,
    DeviceCredentialNotFound,
    DeviceRefused,
    DeviceRevoked,
    PrinterNotFound,
    ReplayedTimestamp,
)
from services.auth.domain.events import DeviceCredentialRevoked
from services.auth.domain.model import (
    DeviceCredential,
    LoginChallenge,
    device_claims,
    hash_challenge,
)
from services.auth.handlers.access import visible
from services.auth.repository import AuthRepository
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.crypto.device_token import device_token_message, verify_device_signature
from shared.crypto.encoding import b64url_decode, b64url_encode
from shared.crypto.keys import load_public_key_bytes
from shared.crypto.signatures import new_nonce
from shared.db.uow import Transactions
from shared.errors import FieldError, ValidationFailed
from shared.http.auth import Principal
from shared.protocols.phone import LoginPayload, encode_login_payload


def credential_revoked(
    c: DeviceCredential, reason: Literal["revoked", "replaced"]
) -> DeviceCredentialRevoked:
    """The event announcing that ``c`` no longer authenticates its device."""
    assert c.revoked_at is not None
    return DeviceCredentialRevoked(
        device_id=c.device_id,
        tenant_id=c.tenant_id,
        fingerprint=c.fingerprint,
        revoked_at=c.revoked_at,
        reason=reason,
    )


async def visible_credential(
    repo: AuthRepository, device_id: uuid.UUID, who: Principal
) -> DeviceCredential:
    """A device's credential, for administrators of its tenant and for platform verifiers
    (a service account holding ``devices:verify``: the gateway)."""
    credential = await repo.credentials.get(device_id)
    if credential is None or not (
        ("devices:verify" in who.scopes and who.tenant_id is None)
        or visible(who, credential.tenant_id)
    ):
        raise DeviceCredentialNotFound("no such device credential")
    return credential


async def revoke_device_credential(
    tx: Transactions[AuthRepository], device_id: uuid.UUID, who: Principal
) -> DeviceCredential:
    """Revoke a device's credential; revoking it again changes nothing."""
    async with tx() as uow:
        current = await uow.repo.credentials.get(device_id, for_update=True)
        if current is None or not visible(who, current.tenant_id):
            raise DeviceCredentialNotFound("no such device credential")
        if current.revoked_at is not None:
            return current
        now = datetime.now(UTC)
        revoked = replace(current, revoked_at=now)
        await uow.repo.credentials.revoke(device_id, now)
        await uow.emit(credential_revoked(revoked, "revoked"), tenant_id=revoked.tenant_id)
    return revoked


# --------------------------------------------------------------------------- device tokens


def device_token_ttl_s(settings: AuthSettings) -> int:
    """A device token's lifetime: never longer than a user's access token, so the key
    that signed it stays published for as long as it is valid."""
    return min(settings.device_token_ttl_s, settings.access_token_ttl_s)


@dataclass(frozen=True)
class DeviceToken:
    """A signed device access token."""

    jwt: str
    expires_in: int


async def issue_device_token(
    tx: Transactions[AuthRepository],
    ring: KeyRing,
    cmd: DeviceTokenRequest,
    settings: AuthSettings,
) -> DeviceToken:
    """A device access token for a device that signed a fresh timestamp with its current
    key; the timestamp is remembered so the same request never works twice."""
    now = datetime.now(UTC)
    skew = cmd.timestamp - now.timestamp()
    if abs(skew) > settings.device_token_clock_skew_s:
        raise ClockSkew(
            f"the timestamp is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the "
            f"server's clock (at most {settings.device_token_clock_skew_s} s); server time is "
            f"{int(now.timestamp())}"
        )
    refused = DeviceRefused("unknown device, or the signature does not match its key")
    try:
        signature = b64url_decode(cmd.signature)
    except ValueError:
        raise refused from None
    async with tx() as uow:
        credentials = uow.repo.credentials
        credential = await credentials.get(cmd.device_id, for_update=True)
        if credential is None:
            raise refused
        key = load_public_key_bytes(credential.public_key)
        if not verify_device_signature(
            key, device_token_message(cmd.device_id, cmd.timestamp), signature
        ):
            raise refused
        if credential.revoked_at is not None:
            raise DeviceRevoked("this device's credential is revoked; claim the device again")
        if cmd.timestamp <= await credentials.last_token_timestamp(cmd.device_id):
            raise ReplayedTimestamp("sign a timestamp greater than the last one this device used")
        await credentials.record_token_timestamp(cmd.device_id, cmd.timestamp)
        ttl = timedelta(seconds=device_token_ttl_s(settings))
        claims = device_claims(
            credential,
            now=now,
            ttl=ttl,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
        )
        signed = await ring.sign(uow.repo.signing_keys, claims)
    return DeviceToken(signed, int(ttl.total_seconds()))


# --------------------------------------------------------------------------- login challenges


@dataclass(frozen=True)
class IssuedChallenge:
    """A new login challenge: the secret (shown once, as the QR payload) and its record."""

    challenge: str
    record: LoginChallenge
    qr_payload: str


async def _printer_of(
    repo: AuthRepository, who: Principal, device_id: uuid.UUID, cmd: RequestLoginChallenge
) -> uuid.UUID:
    """The printer a challenge is for: the printer itself, or one its connector bridges."""
    credential = await repo.credentials.get(device_id)
    if credential is None or credential.revoked_at is not None:
        raise DeviceRevoked("this device's credential is revoked")
    if credential.tenant_id != who.tenant_id:
        raise DeviceRevoked("this device now belongs to another tenant")
    missing = PrinterNotFound("no such printer", [FieldError("printer_id", "unknown printer")])
    if credential.subject_type == "printer":
        if cmd.printer_id not in (None, device_id):
            raise missing  # a printer asks for itself only
        return device_id
    if cmd.printer_id is None:
        raise ValidationFailed(
            "name the printer", [FieldError("printer_id", "required for a connector")]
        )
    if not await repo.connectors.bridges(device_id, credential.tenant_id, cmd.printer_id):
        raise missing
    return cmd.printer_id


async def issue_login_challenge(
    tx: Transactions[AuthRepository],
    who: Principal,
    cmd: RequestLoginChallenge,
    settings: AuthSettings,
) -> IssuedChallenge:
    """A one-time challenge for a printer; only its hash is stored."""
    device_id = who.require_device()
    now = datetime.now(UTC)
    secret = new_nonce()
    async with tx() as uow:
        printer_id = await _printer_of(uow.repo, who, device_id, cmd)
        assert who.tenant_id is not None
        record = LoginChallenge(
            challenge_hash=hash_challenge(secret),
            tenant_id=who.tenant_id,
            printer_id=printer_id,
            device_id=device_id,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.login_challenge_ttl_s),
            failures=0,
            used_at=None,
            key_id=None,
            session_id=None,
        )
        await uow.repo.challenges.insert(record)
    challenge = b64url_encode(secret)
    payload = LoginPayload(
        url=settings.public_url.rstrip("/"),
        printer_id=printer_id,
        challenge=challenge,
        expires_at=int(record.expires_at.timestamp()),
    )
    return IssuedChallenge(challenge, record, encode_login_payload(payload))
