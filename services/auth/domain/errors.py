"""Auth domain errors, each with a stable code."""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import Conflict, DomainError, Forbidden, Gone, NotFound, Unauthenticated


@dataclass
class UserNotFound(NotFound):
    code: str = "user-not-found"


@dataclass
class TenantNotFound(NotFound):
    code: str = "tenant-not-found"


@dataclass
class ApiTokenNotFound(NotFound):
    code: str = "api-token-not-found"


@dataclass
class DeviceCredentialNotFound(NotFound):
    code: str = "device-credential-not-found"


@dataclass
class DuplicateEmail(Conflict):
    code: str = "duplicate-email"


@dataclass
class InvalidGrant(DomainError):
    """The API token offered for an access token is unknown, expired or revoked,
    or its user is disabled; one answer for all, so a guess learns nothing."""

    code: str = "invalid-grant"
    title: str = "Invalid grant"


@dataclass
class InvalidScope(DomainError):
    """An access token was asked for scopes the API token does not carry."""

    code: str = "invalid-scope"
    title: str = "Invalid scope"


# --------------------------------------------------------------------------- device tokens


@dataclass
class DeviceRefused(Unauthenticated):
    """Unknown device or a signature its key did not make; one answer for both."""

    code: str = "device-refused"


@dataclass
class DeviceRevoked(Unauthenticated):
    """The device proved its key, but that credential is revoked."""

    code: str = "device-revoked"


@dataclass
class ClockSkew(Unauthenticated):
    """The signed timestamp is too far from the server's clock."""

    code: str = "clock-skew"


@dataclass
class ReplayedTimestamp(Unauthenticated):
    """The signed timestamp is not greater than the last one this device used."""

    code: str = "replayed-timestamp"


# --------------------------------------------------------------------------- phone logins


@dataclass
class PhoneKeyNotFound(NotFound):
    code: str = "phone-key-not-found"


@dataclass
class DuplicatePhoneKey(Conflict):
    code: str = "duplicate-phone-key"


@dataclass
class TooManyPhoneKeys(Conflict):
    code: str = "too-many-phone-keys"


@dataclass
class PrinterNotFound(NotFound):
    code: str = "printer-not-found"


@dataclass
class UnknownChallenge(Unauthenticated):
    code: str = "unknown-challenge"


@dataclass
class ChallengeExpired(Gone):
    code: str = "challenge-expired"


@dataclass
class ChallengeExhausted(Gone):
    """Too many failed attempts: the printer must show a new challenge."""

    code: str = "challenge-exhausted"


@dataclass
class ChallengeUsed(Conflict):
    code: str = "challenge-used"


@dataclass
class WrongPrinter(Forbidden):
    code: str = "wrong-printer"


@dataclass
class UnknownKey(Unauthenticated):
    code: str = "unknown-key"


@dataclass
class BadSignature(Unauthenticated):
    code: str = "bad-signature"


@dataclass
class KeyRevoked(Forbidden):
    code: str = "key-revoked"


@dataclass
class ForeignPrinter(Forbidden):
    """The printer belongs to another tenant than the key's user."""

    code: str = "foreign-printer"


@dataclass
class UserDisabled(Forbidden):
    code: str = "user-disabled"


@dataclass
class PasskeyNotFound(NotFound):
    code: str = "passkey-not-found"


@dataclass
class DuplicatePasskey(Conflict):
    code: str = "duplicate-passkey"


@dataclass
class PasskeyRefused(Unauthenticated):
    """The assertion or attestation did not verify, its challenge is unknown, used or
    expired, or its passkey is revoked or its user disabled (one answer for all)."""

    code: str = "passkey-refused"


@dataclass
class TooManyPasskeys(Conflict):
    code: str = "too-many-passkeys"


@dataclass
class IdentityProviderNotFound(NotFound):
    code: str = "identity-provider-not-found"


@dataclass
class SignInRefused(Unauthenticated):
    """An identity provider's ID token that does not verify (signature, issuer,
    audience, nonce, expiry) or names no usable person; the message says which."""

    code: str = "sign-in-refused"


@dataclass
class E2EKeyNotFound(NotFound):
    """The printer published no end-to-end key (it is not running, or is a connector's)."""

    code: str = "e2e-key-not-found"
