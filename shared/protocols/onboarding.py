"""The device onboarding protocol: claim codes, a device's key, the offline
registration sheet and the signed poll, shared by the registry and the agent.

A sheet of version 2 is signed by the device's key and names the cloud the device
was told to join: the cloud accepts it only for that key, and nobody holding the
public key alone can make one.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import parse_qs, quote, urlsplit

from shared.crypto.encoding import b64url_decode, b64url_encode
from shared.crypto.keys import (
    KeyAlgorithm,
    KeyFormatError,
    fingerprint,
    key_algorithm,
    load_public_key,
    load_public_key_bytes,
    spki_der,
)
from shared.crypto.signatures import PrivateKey, sign, verify
from shared.errors import FieldError, ValidationFailed

# No 0/O, 1/I/L or U: nothing a person can misread or mistype into another code.
CLAIM_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CLAIM_LENGTH = 8
SHEET_SCHEME = "printcloud:register"
POLL_CONTEXT = b"printcloud-registration-poll\n"
REGISTER_CONTEXT = b"printcloud-registration-start\n"
REDEEM_CONTEXT = b"printcloud-registration-redeem\n"
SHEET_CONTEXT = b"printcloud-registration-sheet\n"

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
    """What a device prints when it cannot reach the cloud, as a QR payload or text.

    ``cloud_url``, ``issued_at`` and ``signature`` make it a signed sheet (version 2):
    the device's key signs every field, so the sheet is bound to that device and to
    the cloud it names. A sheet without them is version 1 (printed by ``agent sheet``
    before signing existed).
    """

    claim_code: str
    kind: Kind
    model: str
    key: DeviceKey
    cloud_url: str = ""
    issued_at: int = 0
    signature: bytes = b""

    @property
    def signed(self) -> bool:
        """Whether the sheet carries the device's signature (checked when parsed)."""
        return bool(self.signature)

    def message(self) -> bytes:
        """What the device signs: every field of the sheet, purpose-bound."""
        fields = [self.kind, self.model, self.claim_code, self.key.fingerprint,
                  self.cloud_url, str(self.issued_at)]  # fmt: skip
        return SHEET_CONTEXT + "\n".join(fields).encode()

    def sign_with(self, private_key: PrivateKey, cloud_url: str, issued_at: int) -> Sheet:
        """The sheet naming ``cloud_url``, signed by the device key (its own key)."""
        unsigned = replace(self, cloud_url=cloud_url, issued_at=issued_at, signature=b"")
        return replace(unsigned, signature=sign(private_key, unsigned.message()))

    def payload(self) -> str:
        """``printcloud:register?v=1&kind=…&model=…&code=…&fp=…&key=…`` (the QR content);
        a signed sheet is ``v=2`` and adds ``&url=…&ts=…&sig=…``."""
        head = (
            f"{SHEET_SCHEME}?v={2 if self.signed else 1}&kind={self.kind}"
            f"&model={quote(self.model, safe='')}"
            f"&code={self.claim_code}&fp={self.key.fingerprint}&key={self.key.text()}"
        )
        if not self.signed:
            return head
        return (
            f"{head}&url={quote(self.cloud_url, safe='')}&ts={self.issued_at}"
            f"&sig={b64url_encode(self.signature)}"
        )

    @classmethod
    def parse(cls, payload: str) -> Sheet:
        """Read a sheet; a key that does not match the printed fingerprint, or a signed
        sheet whose signature is not the key's, is refused (the sheet was altered)."""
        parts = urlsplit("".join(payload.split()))
        if f"{parts.scheme}:{parts.path}" != SHEET_SCHEME:
            raise ValidationFailed(
                "not a registration sheet", [FieldError("sheet", f"must start {SHEET_SCHEME}?")]
            )
        query = {k: v[0] for k, v in parse_qs(parts.query, strict_parsing=False).items()}
        version = query.get("v")
        required = ["v", "kind", "model", "code", "fp", "key"]
        if version == "2":
            required += ["url", "ts", "sig"]
        missing = [k for k in required if not query.get(k)]
        if missing:
            raise ValidationFailed(
                "incomplete registration sheet",
                [FieldError(f"sheet.{k}", "missing") for k in missing],
            )
        if version not in ("1", "2") or query["kind"] not in ("printer", "connector"):
            raise ValidationFailed(
                "unsupported registration sheet",
                [FieldError("sheet", "version must be 1 or 2 and kind printer or connector")],
            )
        key = DeviceKey.parse(query["key"], "sheet.key")
        if key.fingerprint != query["fp"].lower():
            raise ValidationFailed(
                "the sheet's key does not match its fingerprint: the sheet was altered",
                [FieldError("sheet.fp", "does not match the key")],
            )
        code = normalize_claim_code(query["code"], "sheet.code")
        kind: Kind = "printer" if query["kind"] == "printer" else "connector"
        sheet = cls(code, kind, query["model"], key)
        if version == "2":
            sheet = _signed_sheet(sheet, query)
        return replace(sheet, model=sheet.model[:200])


def _signed_sheet(sheet: Sheet, query: dict[str, str]) -> Sheet:
    """The sheet with its cloud, time and signature, once the signature is the key's."""
    try:
        issued_at = int(query["ts"])
        signature = b64url_decode(query["sig"])
    except ValueError:
        raise ValidationFailed(
            "unreadable registration sheet",
            [FieldError("sheet.ts", "Unix seconds"), FieldError("sheet.sig", "base64url")],
        ) from None
    signed = replace(sheet, cloud_url=query["url"], issued_at=issued_at, signature=signature)
    public = load_public_key_bytes(sheet.key.der)
    if not verify(public, signed.message(), signature):
        raise ValidationFailed(
            "the sheet is not signed by its device's key: the sheet was altered",
            [FieldError("sheet.sig", "not the signature of the sheet's key")],
        )
    return signed


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


def redeem_message(fingerprint: str, timestamp: int) -> bytes:
    """What a device signs to collect its identity once it was claimed while it could
    not reach the cloud (purpose-bound, time-stamped)."""
    return REDEEM_CONTEXT + f"{fingerprint}\n{timestamp}".encode()


def redeem_headers(private_key: PrivateKey, timestamp: int) -> dict[str, str]:
    """The headers proving the device key on ``POST /v1/registrations/redeem``."""
    fp = fingerprint(spki_der(private_key.public_key()))
    signature = sign(private_key, redeem_message(fp, timestamp))
    return {
        "X-Printcloud-Timestamp": str(timestamp),
        "X-Printcloud-Signature": b64url_encode(signature),
    }
