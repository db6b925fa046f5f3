"""What devices ask of auth: a device access token for a signed timestamp, and login
challenges to show as QR codes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from services.auth import repository as repo
from services.auth.domain.commands import DeviceTokenRequest, RequestLoginChallenge
from services.auth.domain.errors import (
    ClockSkew,
    DeviceRefused,
    DeviceRevoked,
    PrinterNotFound,
    ReplayedTimestamp,
)
from services.auth.domain.model import LoginChallenge, device_claims, hash_challenge
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.crypto.device_token import device_token_message, verify_device_signature
from shared.crypto.encoding import b64url_decode, b64url_encode
from shared.crypto.keys import load_public_key_bytes
from shared.crypto.signatures import new_nonce
from shared.errors import FieldError, ValidationFailed
from shared.http.auth import Principal
from shared.protocols.phone import LoginPayload, encode_login_payload


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
    pool: asyncpg.Pool, ring: KeyRing, cmd: DeviceTokenRequest, settings: AuthSettings
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
    async with pool.acquire() as conn, conn.transaction():
        credential = await repo.get_credential(conn, cmd.device_id, for_update=True)
        if credential is None:
            raise refused
        key = load_public_key_bytes(credential.public_key)
        if not verify_device_signature(
            key, device_token_message(cmd.device_id, cmd.timestamp), signature
        ):
            raise refused
        if credential.revoked_at is not None:
            raise DeviceRevoked("this device's credential is revoked; claim the device again")
        if cmd.timestamp <= await repo.last_token_timestamp(conn, cmd.device_id):
            raise ReplayedTimestamp("sign a timestamp greater than the last one this device used")
        await repo.record_token_timestamp(conn, cmd.device_id, cmd.timestamp)
        ttl = timedelta(seconds=device_token_ttl_s(settings))
        claims = device_claims(
            credential,
            now=now,
            ttl=ttl,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
        )
        signed = await ring.sign(conn, claims)
    return DeviceToken(signed, int(ttl.total_seconds()))


@dataclass(frozen=True)
class IssuedChallenge:
    """A new login challenge: the secret (shown once, as the QR payload) and its record."""

    challenge: str
    record: LoginChallenge
    qr_payload: str


async def _printer_of(
    conn: asyncpg.Connection, who: Principal, device_id: uuid.UUID, cmd: RequestLoginChallenge
) -> uuid.UUID:
    """The printer a challenge is for: the printer itself, or one its connector bridges."""
    credential = await repo.get_credential(conn, device_id)
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
    if not await repo.connector_bridges(conn, device_id, credential.tenant_id, cmd.printer_id):
        raise missing
    return cmd.printer_id


async def issue_login_challenge(
    pool: asyncpg.Pool, who: Principal, cmd: RequestLoginChallenge, settings: AuthSettings
) -> IssuedChallenge:
    """A one-time challenge for a printer; only its hash is stored."""
    device_id = who.require_device()
    now = datetime.now(UTC)
    secret = new_nonce()
    async with pool.acquire() as conn, conn.transaction():
        printer_id = await _printer_of(conn, who, device_id, cmd)
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
        await repo.insert_challenge(conn, record)
    challenge = b64url_encode(secret)
    payload = LoginPayload(
        url=settings.public_url.rstrip("/"),
        printer_id=printer_id,
        challenge=challenge,
        expires_at=int(record.expires_at.timestamp()),
    )
    return IssuedChallenge(challenge, record, encode_login_payload(payload))
