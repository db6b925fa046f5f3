"""Logging in at a printer with a phone: the QR payload a printer shows, what the phone
signs, and the phone's key.

A printer asks auth for a login challenge and shows ``qr_payload`` as a QR code::

    printcloud-login:<base64url of {"u": API base URL, "p": printer id,
                                    "c": challenge, "e": expiry (unix seconds)}>

The phone decodes it, signs the UTF-8 bytes
``printcloud-device-login\\n{challenge}\\n{printer_id}\\n{action}`` with its private key
(ECDSA P-256 with SHA-256 as a DER signature, or Ed25519) and posts the signature to
``{u}/v1/device-logins`` with the id of its registered key.
"""

from __future__ import annotations

import ipaddress
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shared.crypto.encoding import b64url_decode, b64url_encode
from shared.crypto.keys import KeyAlgorithm, key_algorithm, spki_der
from shared.crypto.signatures import PrivateKey, sign

LOGIN_PAYLOAD_PREFIX = "printcloud-login:"
DEVICE_LOGIN_CONTEXT = "printcloud-device-login"
LoginAction = Literal["open_session", "release_all"]
LOGIN_ACTIONS: tuple[str, ...] = get_args(LoginAction)
_MAX_PAYLOAD = 2000


class PayloadError(ValueError):
    """Text that is not a Printcloud login code; the message says why, for a person."""


class PhoneKeyError(ValueError):
    """A key file that cannot be used; the message says why, for a person."""


@dataclass(frozen=True)
class LoginPayload:
    """What a printer's login QR code holds."""

    url: str
    printer_id: uuid.UUID
    challenge: str
    expires_at: int


def encode_login_payload(payload: LoginPayload) -> str:
    """The compact text a printer shows as a QR code."""
    document = {
        "u": payload.url,
        "p": str(payload.printer_id),
        "c": payload.challenge,
        "e": payload.expires_at,
    }
    raw = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    return LOGIN_PAYLOAD_PREFIX + b64url_encode(raw)


def decode_login_payload(text: str) -> LoginPayload:
    """The payload of a printer's login code, or PayloadError."""
    text = text.strip()
    if len(text) > _MAX_PAYLOAD:
        raise PayloadError("this code is too long to be a Printcloud login code")
    if not text.startswith(LOGIN_PAYLOAD_PREFIX):
        raise PayloadError(f"this is not a Printcloud login code (it must start with "
                           f"{LOGIN_PAYLOAD_PREFIX!r})")  # fmt: skip
    try:
        document = json.loads(b64url_decode(text.removeprefix(LOGIN_PAYLOAD_PREFIX)))
    except (ValueError, UnicodeDecodeError):
        raise PayloadError("this login code is damaged (not base64url JSON)") from None
    if not isinstance(document, dict):
        raise PayloadError("this login code is damaged (not a JSON object)")
    url, printer, challenge, expires = (document.get(k) for k in ("u", "p", "c", "e"))
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise PayloadError("this login code names no API address")
    cloud_origin(url)  # https, or plain http on this machine's loopback only
    try:
        printer_id = uuid.UUID(str(printer))
    except ValueError:
        raise PayloadError("this login code names no printer") from None
    if not isinstance(challenge, str) or not challenge:
        raise PayloadError("this login code holds no challenge")
    try:
        if len(b64url_decode(challenge)) != 32:
            raise ValueError
    except ValueError:
        raise PayloadError("this login code's challenge is damaged") from None
    if not isinstance(expires, int) or isinstance(expires, bool):
        raise PayloadError("this login code has no expiry")
    return LoginPayload(url.rstrip("/"), printer_id, challenge, expires)


def device_login_message(challenge: str, printer_id: uuid.UUID | str, action: str) -> bytes:
    """The exact bytes a phone signs to approve ``action`` at a printer."""
    printer = uuid.UUID(str(printer_id))
    return f"{DEVICE_LOGIN_CONTEXT}\n{challenge}\n{printer}\n{action}".encode()


def approval_request(
    key: PrivateKey, key_id: uuid.UUID | str, payload: LoginPayload, action: LoginAction
) -> dict[str, Any]:
    """The JSON body of ``POST /v1/device-logins`` for ``payload``, signed with ``key``."""
    if action not in LOGIN_ACTIONS:
        raise ValueError(f"action must be one of {LOGIN_ACTIONS}")
    message = device_login_message(payload.challenge, payload.printer_id, action)
    return {
        "key_id": str(uuid.UUID(str(key_id))),
        "challenge": payload.challenge,
        "printer_id": str(payload.printer_id),
        "action": action,
        "signature": b64url_encode(sign(key, message, ecdsa_encoding="der")),
    }


# --------------------------------------------------------------------------- phone keys


def generate_phone_key(algorithm: KeyAlgorithm = "ecdsa-p256") -> PrivateKey:
    """A new phone key (P-256 is what phones' secure hardware holds)."""
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError("algorithm must be ecdsa-p256 or ed25519")


def write_private_key(key: PrivateKey, path: Path) -> None:
    """Write ``key`` as unencrypted PKCS#8 PEM, readable by its owner only (0600);
    never overwrites an existing file."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    os.chmod(path, 0o600)


def read_private_key(path: Path) -> PrivateKey:
    """A phone key from a PEM file, or PhoneKeyError."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PhoneKeyError(f"cannot read the key file {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise PhoneKeyError(f"{path} is not an unencrypted PEM private key") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise PhoneKeyError(f"{path} holds neither an ECDSA P-256 nor an Ed25519 key")


def public_key_text(key: PrivateKey) -> str:
    """The public half as base64url SPKI DER, as ``POST /v1/users/me/phone-keys`` takes it."""
    return b64url_encode(spki_der(key.public_key()))


def phone_key_algorithm(key: PrivateKey) -> KeyAlgorithm:
    """``ecdsa-p256`` or ``ed25519``."""
    return key_algorithm(key.public_key())


_DEFAULT_PORTS = {"https": 443, "http": 80}


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cloud_origin(url: str) -> str:
    """The origin (``scheme://host[:port]``, lowercase, default port dropped) of a cloud's
    API address; PayloadError unless it is https, or plain http on the loopback."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise PayloadError(f"{url!r} is not an API address") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        raise PayloadError(f"{url!r} names no API address")
    if scheme == "http" and not _loopback(host):
        raise PayloadError(
            f"{url!r} is plain http: a phone logs in over https only (http on loopback only)"
        )
    shown = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        shown = f"{shown}:{port}"
    return f"{scheme}://{shown}"


def assert_enrolled_origin(payload: LoginPayload, enrolled: str) -> None:
    """Refuse a login code naming another cloud than the one the phone key was
    registered with (a QR code cannot send the phone's approval to a foreign host)."""
    if cloud_origin(payload.url) != enrolled:
        raise PayloadError(
            f"this login code names {cloud_origin(payload.url)}, but this phone was "
            f"enrolled with {enrolled}: refusing to send the approval there"
        )
