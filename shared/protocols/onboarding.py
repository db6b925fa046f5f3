"""The device onboarding protocol: claim codes, a device's key, the offline
registration sheet and the signed poll, shared by the registry and the agent.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, quote, urlsplit

from shared.crypto.encoding import b64url_encode
from shared.crypto.keys import (
    KeyAlgorithm,
    KeyFormatError,
    fingerprint,
    key_algorithm,
    load_public_key,
    spki_der,
)
from shared.crypto.signatures import PrivateKey, sign
from shared.errors import FieldError, ValidationFailed

# No 0/O, 1/I/L or U: nothing a person can misread or mistype into another code.
CLAIM_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CLAIM_LENGTH = 8
SHEET_SCHEME = "printcloud:register"
POLL_CONTEXT = b"printcloud-registration-poll\n"
REGISTER_CONTEXT = b"printcloud-registration-start\n"

Kind = Literal["printer", "connector"]
Status = Literal["pending", "claimed"]


def new_claim_code() -> str:
    """A fresh code: 8 symbols of 30, about 39 bits; short-lived and attempt-limited."""
    return "".join(secrets.choice(CLAIM_ALPHABET) for _ in range(CLAIM_LENGTH))


def normalize_claim_code(text: str, field: str = "claim_code") -> str:
    """``abcd-efgh`` -> ``ABCDEFGH``; ValidationFailed naming the rule otherwise."""
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) != CLAIM_LENGTH or any(c not in CLAIM_ALPHABET for c in code):
        raise ValidationFailed(
            "not a claim code",
            [
                FieldError(
                    field,
                    f"{CLAIM_LENGTH} characters from A-Z without I, L, O, U and digits 2-9",
                )
            ],
        )
    return code


def display_claim_code(code: str) -> str:
    """``ABCDEFGH`` -> ``ABCD-EFGH``, as shown to people."""
    return f"{code[:4]}-{code[4:]}"


@dataclass(frozen=True)
class DeviceKey:
    """A device's public key as stored: SPKI DER, algorithm and fingerprint."""

    der: bytes
    algorithm: KeyAlgorithm
    fingerprint: str

    @classmethod
    def parse(cls, text: str, field: str = "public_key") -> DeviceKey:
        """From PEM or base64url; ValidationFailed naming ``field`` otherwise."""
        try:
            key = load_public_key(text)
        except KeyFormatError as exc:
            raise ValidationFailed("unusable public key", [FieldError(field, str(exc))]) from None
        der = spki_der(key)
        return cls(der, key_algorithm(key), fingerprint(der))

    def text(self) -> str:
        """base64url of the SPKI DER: how keys travel in events and sheets."""
        return b64url_encode(self.der)


@dataclass(frozen=True)
class Sheet:
    """What a device prints when it cannot reach the cloud, as a QR payload or text."""

    claim_code: str
    kind: Kind
    model: str
    key: DeviceKey

    def payload(self) -> str:
        """``printcloud:register?v=1&kind=…&model=…&code=…&fp=…&key=…`` (the QR content)."""
        return (
            f"{SHEET_SCHEME}?v=1&kind={self.kind}&model={quote(self.model, safe='')}"
            f"&code={self.claim_code}&fp={self.key.fingerprint}&key={self.key.text()}"
        )

    @classmethod
    def parse(cls, payload: str) -> Sheet:
        """Read a sheet; a key that does not match the printed fingerprint is refused."""
        parts = urlsplit(payload.strip())
        if f"{parts.scheme}:{parts.path}" != SHEET_SCHEME:
            raise ValidationFailed(
                "not a registration sheet", [FieldError("sheet", f"must start {SHEET_SCHEME}?")]
            )
        query = {k: v[0] for k, v in parse_qs(parts.query, strict_parsing=False).items()}
        missing = [k for k in ("v", "kind", "model", "code", "fp", "key") if not query.get(k)]
        if missing:
            raise ValidationFailed(
                "incomplete registration sheet",
                [FieldError(f"sheet.{k}", "missing") for k in missing],
            )
        if query["v"] != "1" or query["kind"] not in ("printer", "connector"):
            raise ValidationFailed(
                "unsupported registration sheet",
                [FieldError("sheet", "version must be 1 and kind printer or connector")],
            )
        key = DeviceKey.parse(query["key"], "sheet.key")
        if key.fingerprint != query["fp"].lower():
            raise ValidationFailed(
                "the sheet's key does not match its fingerprint: the sheet was altered",
                [FieldError("sheet.fp", "does not match the key")],
            )
        code = normalize_claim_code(query["code"], "sheet.code")
        kind: Kind = "printer" if query["kind"] == "printer" else "connector"
        return cls(code, kind, query["model"][:200], key)


def poll_message(registration_id: uuid.UUID, timestamp: int) -> bytes:
    """What a device signs to read its own registration (purpose-bound, time-stamped)."""
    return POLL_CONTEXT + f"{registration_id}\n{timestamp}".encode()


def register_message(fingerprint: str, timestamp: int) -> bytes:
    """What a device signs when it asks to join: proof that it holds the key, so the
    claim code is told only to the device itself (purpose-bound, time-stamped)."""
    return REGISTER_CONTEXT + f"{fingerprint}\n{timestamp}".encode()


def registration_headers(private_key: PrivateKey, timestamp: int | None = None) -> dict[str, str]:
    """The headers proving the device key on ``POST /v1/registrations``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    fp = fingerprint(spki_der(private_key.public_key()))
    signature = sign(private_key, register_message(fp, stamp))
    return {
        "X-Printcloud-Timestamp": str(stamp),
        "X-Printcloud-Signature": b64url_encode(signature),
    }
