"""Access-token signing keys: made, sealed, published, rotated and pruned.

Private halves are Ed25519 keys sealed with AES-256-GCM under the key-encryption
key (``PRINTCLOUD_AUTH_KEY_ENCRYPTION_KEY``), bound to their kid; they are opened
only in memory, to sign. Every replica signs with the key the database names as
current at that moment, so replicas always agree; rotation runs under a
transaction-scoped advisory lock, so two replicas never both add a key.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from services.auth.domain.keys import KeySlot, expired_keys, rotation_due
from services.auth.repository import SigningKeys
from services.auth.settings import AuthSettings
from shared.crypto.keys import jwk_thumbprint, public_jwk
from shared.crypto.sealing import KeyEncryptionKey
from shared.logging import get_logger

log = get_logger(__name__)

ALGORITHM = "EdDSA"


class MissingKeyEncryptionKey(RuntimeError):
    """Auth cannot sign without its key-encryption key."""


class KeyRing:
    """Signs access tokens with the current key; keeps opened private keys in memory."""

    def __init__(self, kek: KeyEncryptionKey, settings: AuthSettings) -> None:
        self._kek = kek
        self._settings = settings
        self._opened: dict[str, ed25519.Ed25519PrivateKey] = {}

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> KeyRing:
        """A key ring from the service settings; refuses to exist without a valid KEK."""
        if settings.key_encryption_key is None:
            raise MissingKeyEncryptionKey(
                "set PRINTCLOUD_AUTH_KEY_ENCRYPTION_KEY (base64 of 32 random bytes)"
            )
        try:
            kek = KeyEncryptionKey.from_text(settings.key_encryption_key.get_secret_value())
        except ValueError as exc:
            raise MissingKeyEncryptionKey(f"PRINTCLOUD_AUTH_KEY_ENCRYPTION_KEY: {exc}") from None
        return cls(kek, settings)

    @property
    def kek(self) -> KeyEncryptionKey:
        """The key-encryption key (it also seals identity providers' client secrets)."""
        return self._kek

    @property
    def keep_after_succession(self) -> timedelta:
        """How long a superseded key stays published: its tokens' lifetime plus leeway
        (device access tokens never live longer than users' access tokens)."""
        s = self._settings
        return timedelta(seconds=s.access_token_ttl_s + s.auth_leeway_s)

    async def maintain(self, conn: asyncpg.Connection, *, force: bool = False) -> KeySlot | None:
        """Add a key when rotation is due (or ``force``), drop expired ones; the new slot.
        One transaction of its own on ``conn``."""
        async with conn.transaction():
            slot = await self.rotate(SigningKeys(conn), force=force)
        if slot is not None:
            log.info("signing key added", kid=slot.kid, activates_at=slot.activates_at.isoformat())
        return slot

    async def rotate(self, keys: SigningKeys, *, force: bool = False) -> KeySlot | None:
        """:meth:`maintain` inside the caller's transaction (``keys`` is bound to it)."""
        s = self._settings
        await keys.lock()
        now = datetime.now(UTC)
        slots = await keys.slots()
        gone = expired_keys(slots, now, self.keep_after_succession)
        if gone:
            await keys.delete(gone)
            log.info("signing keys removed", kids=gone)
        if not (force or rotation_due(slots, now, timedelta(seconds=s.signing_key_rotation_s))):
            return None
        ahead = timedelta(seconds=s.signing_key_publish_ahead_s if slots else 0)
        return await self._add_key(keys, now, now + ahead)

    async def _add_key(self, keys: SigningKeys, now: datetime, activates_at: datetime) -> KeySlot:
        private = ed25519.Ed25519PrivateKey.generate()
        jwk = public_jwk(private.public_key())
        kid = jwk_thumbprint(jwk)
        raw = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        slot = KeySlot(kid=kid, created_at=now, activates_at=activates_at)
        published = {**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"}
        await keys.insert(slot, ALGORITHM, published, self._kek.seal(raw, kid.encode()))
        return slot

    async def sign(self, keys: SigningKeys, claims: dict[str, Any]) -> str:
        """The claims as a JWT signed with the current key (kid and typ in the header)."""
        current = await keys.sealed_signing_key(datetime.now(UTC))
        if current is None:
            raise RuntimeError("no signing key yet; the key task has not run")
        kid, sealed = current
        key = self._opened.get(kid)
        if key is None:
            raw = self._kek.open(sealed, kid.encode())
            key = ed25519.Ed25519PrivateKey.from_private_bytes(raw)
            self._opened = {kid: key}  # only the current key is ever needed
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "at+jwt"})

    async def jwks(self, keys: SigningKeys) -> dict[str, list[dict[str, Any]]]:
        """The public keys verifiers need: every key not yet expired, newest first."""
        published = await keys.public_keys()
        gone = set(
            expired_keys([s for s, _ in published], datetime.now(UTC), self.keep_after_succession)
        )
        live = sorted((k for k in published if k[0].kid not in gone), key=lambda k: k[0].created_at)
        return {"keys": [jwk for _, jwk in reversed(live)]}
