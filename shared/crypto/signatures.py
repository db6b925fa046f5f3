"""Signing and verifying a message (typically a server nonce) with a device key.

Ed25519 signatures are 64 bytes. ECDSA P-256 signatures use SHA-256 and come
either ``raw`` (r || s, 64 bytes: JOSE, WebCrypto, most secure elements) or
``der`` (ASN.1, what OpenSSL and ``cryptography`` produce); the protocol using
them says which. Sign a message that names its purpose (for example
``b"printcloud-device-login:" + nonce``) so that a signature made for one
protocol can never be replayed in another.
"""

from __future__ import annotations

import secrets
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from shared.crypto.keys import PublicKey

EcdsaEncoding = Literal["raw", "der"]
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
NONCE_BYTES = 32
_P256_HALF = 32


def new_nonce() -> bytes:
    """A fresh random challenge (32 bytes from the OS CSPRNG)."""
    return secrets.token_bytes(NONCE_BYTES)


def sign(key: PrivateKey, message: bytes, *, ecdsa_encoding: EcdsaEncoding = "raw") -> bytes:
    """Sign ``message`` with an Ed25519 or P-256 private key (the device side)."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(message)
    der = key.sign(message, ec.ECDSA(hashes.SHA256()))
    if ecdsa_encoding == "der":
        return der
    r, s = decode_dss_signature(der)
    return r.to_bytes(_P256_HALF, "big") + s.to_bytes(_P256_HALF, "big")


def verify(
    key: PublicKey, message: bytes, signature: bytes, *, ecdsa_encoding: EcdsaEncoding = "raw"
) -> bool:
    """Whether ``signature`` is a valid signature of ``message`` by ``key``."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, message)
            return True
        der = _raw_to_der(signature) if ecdsa_encoding == "raw" else signature
        if der is None:
            return False
        key.verify(der, message, ec.ECDSA(hashes.SHA256()))
        return True
    except (InvalidSignature, ValueError):
        return False


def _raw_to_der(signature: bytes) -> bytes | None:
    if len(signature) != 2 * _P256_HALF:
        return None
    r = int.from_bytes(signature[:_P256_HALF], "big")
    s = int.from_bytes(signature[_P256_HALF:], "big")
    return encode_dss_signature(r, s)
