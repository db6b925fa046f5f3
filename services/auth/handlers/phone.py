"""Phone logins: users' phone keys, and the approval of a printer's login challenge by a
phone's signature (which opens the user's session at that printer)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.auth.domain.commands import ApproveDeviceLogin, RegisterPhoneKey
from services.auth.domain.errors import (
    BadSignature,
    DuplicatePhoneKey,
    ForeignPrinter,
    KeyRevoked,
    PhoneKeyNotFound,
    TooManyPhoneKeys,
    UnknownChallenge,
    UnknownKey,
    UserDisabled,
    UserNotFound,
    WrongPrinter,
)
from services.auth.domain.events import DeviceLoginApproved
from services.auth.domain.model import (
    LoginChallenge,
    PhoneKey,
    User,
    check_challenge_usable,
    hash_challenge,
)
from services.auth.repository import AuthRepository
from services.auth.settings import AuthSettings
from shared.crypto.device_token import verify_device_signature
from shared.crypto.encoding import b64url_decode
from shared.crypto.keys import (
    KeyFormatError,
    fingerprint,
    key_algorithm,
    load_public_key,
    load_public_key_bytes,
    spki_der,
)
from shared.db.uow import AlreadyExists, Transactions
from shared.errors import DomainError, FieldError, Forbidden, ValidationFailed
from shared.http.auth import Principal
from shared.protocols.phone import device_login_message

# --------------------------------------------------------------------------- phone keys


def own_user_id(who: Principal) -> uuid.UUID:
    """The calling user's id (a person's or service account's token; never a device's)."""
    who.require_role("user", "admin")
    if who.is_operator or who.is_device:
        raise Forbidden("only a user has phone keys")
    try:
        return uuid.UUID(who.subject)
    except ValueError:
        raise Forbidden("only a user has phone keys") from None


def _checked_key(cmd: RegisterPhoneKey) -> tuple[bytes, str]:
    """The key's SPKI DER and fingerprint; 422 naming the field otherwise."""
    try:
        key = load_public_key(cmd.public_key)
    except KeyFormatError as exc:
        raise ValidationFailed(
            "the public key is not usable", [FieldError("public_key", str(exc))]
        ) from None
    actual = key_algorithm(key)
    if actual != cmd.algorithm:
        raise ValidationFailed(
            "the algorithm does not match the key",
            [FieldError("algorithm", f"the key is {actual}, not {cmd.algorithm}")],
        )
    der = spki_der(key)
    return der, fingerprint(der)


async def register_phone_key(
    tx: Transactions[AuthRepository],
    user_id: uuid.UUID,
    cmd: RegisterPhoneKey,
    settings: AuthSettings,
) -> PhoneKey:
    """Add a phone key to a person of a tenant; one key proves one user only."""
    der, print_ = _checked_key(cmd)
    async with tx() as uow:
        repo = uow.repo
        user = await repo.users.get(user_id, for_update=True)
        if user is None:
            raise UserNotFound("no such user")
        if user.kind != "person" or user.tenant_id is None:
            raise Forbidden("only a person of a tenant may register a phone key")
        if await repo.phone_keys.count_active(user.id) >= settings.phone_keys_per_user:
            raise TooManyPhoneKeys(
                f"at most {settings.phone_keys_per_user} phone keys; revoke one first"
            )
        key = PhoneKey(
            id=uuid.uuid4(),
            user_id=user.id,
            tenant_id=user.tenant_id,
            label=cmd.label,
            algorithm=cmd.algorithm,
            public_key=der,
            fingerprint=print_,
            created_at=datetime.now(UTC),
            last_used_at=None,
            revoked_at=None,
        )
        try:
            await repo.phone_keys.insert(key)
        except AlreadyExists:
            raise DuplicatePhoneKey(
                "this key is registered already", [FieldError("public_key", "already registered")]
            ) from None
    return key


async def revoke_phone_key(
    tx: Transactions[AuthRepository], user_id: uuid.UUID, key_id: uuid.UUID
) -> None:
    """Revoke one of a user's phone keys; revoking it again changes nothing."""
    async with tx() as uow:
        key = await uow.repo.phone_keys.get(key_id, for_update=True)
        if key is None or key.user_id != user_id:
            raise PhoneKeyNotFound("no such phone key")
        if key.revoked_at is None:
            await uow.repo.phone_keys.revoke(user_id, datetime.now(UTC), key_id)


# --------------------------------------------------------------------------- approvals


@dataclass(frozen=True)
class Approval:
    """An approved login: the session it opens."""

    event: DeviceLoginApproved


async def _proof(
    repo: AuthRepository, challenge: LoginChallenge, cmd: ApproveDeviceLogin
) -> tuple[PhoneKey, User]:
    """The key and user behind a valid proof for ``challenge``; a counted refusal otherwise."""
    if cmd.printer_id != challenge.printer_id:
        raise WrongPrinter("this challenge was shown by another printer")
    key = await repo.phone_keys.get(cmd.key_id)
    if key is None:
        raise UnknownKey("no such phone key; register the phone first")
    message = device_login_message(cmd.challenge, cmd.printer_id, cmd.action)
    try:
        signature = b64url_decode(cmd.signature)
    except ValueError:
        signature = b""
    if not verify_device_signature(load_public_key_bytes(key.public_key), message, signature):
        raise BadSignature("the signature does not match this key and challenge")
    # Only a holder of the key learns what follows.
    if key.revoked_at is not None:
        raise KeyRevoked("this phone key is revoked")
    if key.tenant_id != challenge.tenant_id:
        raise ForeignPrinter("this printer does not belong to your organisation")
    user = await repo.users.get(key.user_id)
    if user is None or user.disabled or user.tenant_id != key.tenant_id:
        raise UserDisabled("this phone key's user may not log in")
    return key, user


async def approve_login(
    tx: Transactions[AuthRepository], cmd: ApproveDeviceLogin, settings: AuthSettings
) -> Approval:
    """Check a phone's proof and, in one transaction, use the challenge and publish
    device.login_approved. A refusal changes nothing but the challenge's failure count;
    after too many failures the challenge is dead."""
    try:
        secret = b64url_decode(cmd.challenge)
    except ValueError:
        raise UnknownChallenge("no such login challenge") from None
    digest = hash_challenge(secret)
    refusal: DomainError | None = None
    async with tx() as uow:
        repo = uow.repo
        now = datetime.now(UTC)
        challenge = check_challenge_usable(
            await repo.challenges.get(digest, for_update=True),
            now,
            settings.login_challenge_max_failures,
        )
        try:
            key, user = await _proof(repo, challenge, cmd)
        except DomainError as exc:
            refusal = exc
            await repo.challenges.count_failure(digest)
        else:
            await repo.challenges.lock_printer(challenge.printer_id)
            event = DeviceLoginApproved(
                session_id=uuid.uuid4(),
                tenant_id=challenge.tenant_id,
                printer_id=challenge.printer_id,
                user_id=user.id,
                display_name=user.display_name,
                action=cmd.action,
                approved_at=now,
                expires_at=now + timedelta(seconds=settings.device_session_ttl_s),
            )
            await repo.challenges.use(digest, now, key.id, event.session_id)
            await repo.phone_keys.touch(key.id, now)
            await uow.emit(event, tenant_id=challenge.tenant_id)
    if refusal is not None:
        raise refusal  # after the failure count committed
    return Approval(event)
