"""Public keys of devices and of the platform's token signer.

A device key is Ed25519 or ECDSA P-256. It arrives as PEM (``BEGIN PUBLIC KEY``)
or as base64url of either the SubjectPublicKeyInfo DER, the raw 32-byte Ed25519
key, or the SEC 1 encoded P-256 point. Printcloud stores the SPKI DER and
identifies a key by its fingerprint: lowercase hex SHA-256 of that DER.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shared.crypto.encoding import b64url_decode, b64url_encode

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey
KeyAlgorithm = Literal["ed25519", "ecdsa-p256"]
KEY_ALGORITHMS: tuple[KeyAlgorithm, ...] = ("ed25519", "ecdsa-p256")


class KeyFormatError(ValueError):
    """Text that is not a supported public key; the message says why."""


def load_public_key(text: str) -> PublicKey:
    """An Ed25519 or P-256 public key from PEM or base64url (SPKI DER, raw or SEC 1 point)."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
            raise KeyFormatError("not a PEM public key") from None
        return _supported(key)
    try:
        raw = b64url_decode(text)
    except ValueError:
        raise KeyFormatError("neither PEM nor base64url") from None
    return load_public_key_bytes(raw)


def load_public_key_bytes(raw: bytes) -> PublicKey:
    """A public key from SPKI DER, a raw Ed25519 key or a SEC 1 P-256 point."""
    if len(raw) == 32:
        try:
            return ed25519.Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise KeyFormatError("not an Ed25519 public key") from None
    if len(raw) in (33, 65) and raw[0] in (2, 3, 4):
        try:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError:
            raise KeyFormatError("not a point on P-256") from None
    try:
        key = serialization.load_der_public_key(raw)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFormatError("not a SubjectPublicKeyInfo, raw Ed25519 key or P-256 point") from None
    return _supported(key)


def _supported(key: object) -> PublicKey:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise KeyFormatError("only Ed25519 and ECDSA P-256 keys are supported")


def key_algorithm(key: PublicKey) -> KeyAlgorithm:
    """``ed25519`` or ``ecdsa-p256``."""
    return "ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "ecdsa-p256"


def spki_der(key: PublicKey) -> bytes:
    """The key's SubjectPublicKeyInfo in DER, the form Printcloud stores."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(der: bytes) -> str:
    """Lowercase hex SHA-256 of an SPKI DER: how a key is named in events and logs."""
    return hashlib.sha256(der).hexdigest()


def public_jwk(key: PublicKey) -> dict[str, str]:
    """The key as a JWK (RFC 8037 OKP for Ed25519, RFC 7518 EC for P-256), without kid."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(raw)}
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
    }


_THUMBPRINT_MEMBERS = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}


def jwk_thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 SHA-256 thumbprint of an OKP or EC JWK, base64url: a stable key id."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())
