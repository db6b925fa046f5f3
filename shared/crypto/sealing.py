"""Sealing secrets at rest: AES-256-GCM under a key-encryption key (KEK).

A sealed blob is ``version (1 byte) || KEK id (8 bytes) || nonce (12 bytes) ||
ciphertext with tag``. The KEK id (a hash of the KEK, not the KEK) lets an
operator who configured the wrong KEK get a clear error instead of a generic
authentication failure. Pass ``aad`` (associated data, e.g. the row's id) so a
sealed value cannot be moved to another row unnoticed. Each seal draws a fresh
random nonce; with 96-bit nonces one KEK safely seals billions of values.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.crypto.encoding import b64_decode_any, b64url_encode

VERSION = 1
_KEK_ID_BYTES = 8
_NONCE_BYTES = 12
_HEADER = 1 + _KEK_ID_BYTES + _NONCE_BYTES


class SealError(ValueError):
    """A blob that cannot be opened with this KEK; the message says why."""


def new_key_text() -> str:
    """A new random 256-bit KEK as base64url text, ready for a secret store."""
    return b64url_encode(AESGCM.generate_key(bit_length=256))


class KeyEncryptionKey:
    """An AES-256-GCM key that seals and opens secrets; its repr never shows the key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a key-encryption key has 32 bytes (256 bits)")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"printcloud-kek-id:" + key).digest()[:_KEK_ID_BYTES]

    @classmethod
    def from_text(cls, text: str) -> KeyEncryptionKey:
        """A KEK from base64url or standard base64 text of 32 bytes."""
        try:
            return cls(b64_decode_any(text))
        except ValueError:
            raise ValueError("the key-encryption key must be base64 text of 32 bytes") from None

    def __repr__(self) -> str:
        return f"KeyEncryptionKey(id={self.key_id.hex()})"

    def seal(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        """Encrypt and authenticate ``plaintext`` (bound to ``aad``)."""
        nonce = os.urandom(_NONCE_BYTES)
        header = bytes([VERSION]) + self.key_id + nonce
        return header + self._aead.encrypt(nonce, plaintext, header + aad)

    def open(self, blob: bytes, aad: bytes = b"") -> bytes:
        """The plaintext of a sealed blob, or SealError."""
        if len(blob) < _HEADER + 16 or blob[0] != VERSION:
            raise SealError("not a sealed blob of a known version")
        header, nonce = blob[:_HEADER], blob[1 + _KEK_ID_BYTES : _HEADER]
        if blob[1 : 1 + _KEK_ID_BYTES] != self.key_id:
            raise SealError("sealed with a different key-encryption key")
        try:
            return self._aead.decrypt(nonce, blob[_HEADER:], header + aad)
        except InvalidTag:
            raise SealError("sealed blob is corrupt or its associated data differs") from None
