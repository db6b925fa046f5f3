"""Passkeys: people register WebAuthn credentials and sign in with them, for an access
token like an API token's. Auth keeps the credentials and checks every ceremony (the
challenge it handed out, the origin, the relying party and the signature, with the
``webauthn`` package); a page only carries the browser's answer here."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_client_data_json
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidJSONStructure,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from services.auth.domain.commands import PasskeyLogin, RegisterPasskey, WebAuthnCredential
from services.auth.domain.errors import (
    DuplicatePasskey,
    PasskeyNotFound,
    PasskeyRefused,
    TooManyPasskeys,
    UserNotFound,
)
from services.auth.domain.model import Passkey, PasskeyChallenge, access_claims
from services.auth.handlers.tokens import AccessToken
from services.auth.repository import AuthRepository
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.crypto.encoding import b64url_decode
from shared.db.uow import AlreadyExists, Transactions
from shared.errors import FieldError, Forbidden, ValidationFailed

REFUSED = "the passkey was not accepted; sign in again"


def _hash(challenge: bytes) -> bytes:
    return hashlib.sha256(challenge).digest()


def _options(options: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(options_to_json(options))
    return document


def _credential_json(credential: WebAuthnCredential) -> dict[str, Any]:
    return credential.model_dump(by_alias=True)


def _challenge_of(credential: WebAuthnCredential) -> bytes:
    """The challenge the browser signed over (from clientDataJSON)."""
    raw = credential.response.get("clientDataJSON")
    try:
        if not isinstance(raw, str):
            raise ValueError("missing")
        return parse_client_data_json(b64url_decode(raw)).challenge
    except (ValueError, InvalidJSONStructure, KeyError, TypeError):
        raise ValidationFailed(
            "the credential is not usable",
            [FieldError("credential.response.clientDataJSON", "not WebAuthn client data")],
        ) from None


async def _new_challenge(
    tx: Transactions[AuthRepository], purpose: str, user_id: uuid.UUID | None, ttl_s: int
) -> bytes:
    challenge = secrets.token_bytes(32)
    now = datetime.now(UTC)
    async with tx() as uow:
        await uow.repo.passkey_challenges.insert(PasskeyChallenge(
            _hash(challenge), purpose, user_id, now, now + timedelta(seconds=ttl_s), None,  # type: ignore[arg-type]
        ))  # fmt: skip
    return challenge


async def _take_challenge(
    tx: Transactions[AuthRepository], challenge: bytes, purpose: str
) -> PasskeyChallenge:
    """Use up the challenge (in its own transaction: a failed attempt spends it too)."""
    now = datetime.now(UTC)
    async with tx() as uow:
        taken = await uow.repo.passkey_challenges.take(_hash(challenge), now)
    if taken is None or taken.purpose != purpose or taken.expires_at <= now:
        raise PasskeyRefused(REFUSED)
    return taken


# --------------------------------------------------------------------------- registration


async def registration_options(
    tx: Transactions[AuthRepository], user_id: uuid.UUID, settings: AuthSettings
) -> dict[str, Any]:
    """Options for ``navigator.credentials.create()`` for the user: a discoverable
    credential (the portal signs in without asking for a name first)."""
    async with tx() as uow:
        user = await uow.repo.users.get(user_id)
        if user is None or user.disabled or user.kind != "person":
            raise Forbidden("only an enabled person may register a passkey")
        existing = [k for k in await uow.repo.passkeys.of_user(user_id) if k.revoked_at is None]
    challenge = await _new_challenge(tx, "register", user_id, settings.passkey_challenge_ttl_s)
    options = generate_registration_options(
        rp_id=settings.passkey_rp_id,
        rp_name=settings.passkey_rp_name,
        user_id=user.id.bytes,
        user_name=user.email or user.display_name,
        user_display_name=user.display_name,
        challenge=challenge,
        timeout=settings.passkey_challenge_ttl_s * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=k.credential_id) for k in existing],
    )
    return _options(options)


async def register_passkey(
    tx: Transactions[AuthRepository],
    user_id: uuid.UUID,
    cmd: RegisterPasskey,
    settings: AuthSettings,
) -> Passkey:
    """Check the attestation against the user's registration challenge and keep the key."""
    challenge = await _take_challenge(tx, _challenge_of(cmd.credential), "register")
    if challenge.user_id != user_id:
        raise PasskeyRefused(REFUSED)
    try:
        verified = verify_registration_response(
            credential=_credential_json(cmd.credential),
            expected_challenge=_challenge_of(cmd.credential),
            expected_rp_id=settings.passkey_rp_id,
            expected_origin=settings.passkey_origins,
        )
    except (InvalidRegistrationResponse, InvalidJSONStructure) as exc:
        raise ValidationFailed(
            "the passkey could not be verified", [FieldError("credential", str(exc)[:200])]
        ) from None
    now = datetime.now(UTC)
    async with tx() as uow:
        user = await uow.repo.users.get(user_id, for_update=True)
        if user is None or user.tenant_id is None or user.disabled:
            raise UserNotFound("no such user")
        active = [k for k in await uow.repo.passkeys.of_user(user_id) if k.revoked_at is None]
        if len(active) >= settings.passkeys_per_user:
            raise TooManyPasskeys(f"at most {settings.passkeys_per_user} passkeys; revoke one")
        key = Passkey(
            id=uuid.uuid4(), user_id=user.id, tenant_id=user.tenant_id, label=cmd.label,
            credential_id=verified.credential_id, public_key=verified.credential_public_key,
            sign_count=verified.sign_count, created_at=now, last_used_at=None, revoked_at=None,
        )  # fmt: skip
        try:
            await uow.repo.passkeys.insert(key)
        except AlreadyExists:
            raise DuplicatePasskey("this passkey is registered already") from None
    return key


async def revoke_passkey(
    tx: Transactions[AuthRepository], user_id: uuid.UUID, passkey_id: uuid.UUID
) -> None:
    """Revoke one of the user's passkeys; revoking it again changes nothing."""
    async with tx() as uow:
        keys = {k.id: k for k in await uow.repo.passkeys.of_user(user_id)}
        if passkey_id not in keys:
            raise PasskeyNotFound("no such passkey")
        await uow.repo.passkeys.revoke(user_id, passkey_id, datetime.now(UTC))


# --------------------------------------------------------------------------- sign-in


async def sign_in_options(
    tx: Transactions[AuthRepository], settings: AuthSettings
) -> dict[str, Any]:
    """Options for ``navigator.credentials.get()``: any passkey of this relying party."""
    challenge = await _new_challenge(tx, "sign-in", None, settings.passkey_challenge_ttl_s)
    options = generate_authentication_options(
        rp_id=settings.passkey_rp_id,
        challenge=challenge,
        timeout=settings.passkey_challenge_ttl_s * 1000,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return _options(options)


async def sign_in(
    tx: Transactions[AuthRepository], ring: KeyRing, cmd: PasskeyLogin, settings: AuthSettings
) -> AccessToken:
    """An access token for a verified assertion of an active passkey of an enabled user;
    PasskeyRefused otherwise."""
    challenge = _challenge_of(cmd.credential)
    await _take_challenge(tx, challenge, "sign-in")
    try:
        credential_id = b64url_decode(cmd.credential.raw_id)
    except ValueError:
        raise PasskeyRefused(REFUSED) from None
    async with tx() as uow:
        key = await uow.repo.passkeys.by_credential(credential_id)
        if key is None or key.revoked_at is not None:
            raise PasskeyRefused(REFUSED)
        user = await uow.repo.users.get(key.user_id)
        if user is None or user.disabled:
            raise PasskeyRefused(REFUSED)
        try:
            verified = verify_authentication_response(
                credential=_credential_json(cmd.credential),
                expected_challenge=challenge,
                expected_rp_id=settings.passkey_rp_id,
                expected_origin=settings.passkey_origins,
                credential_public_key=key.public_key,
                credential_current_sign_count=key.sign_count,
            )
        except (InvalidAuthenticationResponse, InvalidJSONStructure):
            raise PasskeyRefused(REFUSED) from None
        now = datetime.now(UTC)
        scopes = user.grantable_scopes()
        ttl = timedelta(seconds=settings.access_token_ttl_s)
        claims = access_claims(
            user, key, scopes, now=now, ttl=ttl,
            issuer=settings.auth_issuer, audience=settings.auth_audience,
        )  # fmt: skip
        signed = await ring.sign(uow.repo.signing_keys, claims)
        await uow.repo.passkeys.used(key.id, verified.new_sign_count, now)
    return AccessToken(signed, settings.access_token_ttl_s, scopes)
