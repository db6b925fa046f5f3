"""End-to-end protected documents: a device's signed ephemeral key, and the chunked
format a document is encrypted in so the cloud stores and forwards only ciphertext.

A device (printer) makes an X25519 key pair in memory, publishes its public half in a
*key offer* signed with its device key, and shows the same offer as a QR code. A
sender checks the offer's signature against the device key the cloud holds for that
device, then encrypts (``application/vnd.printcloud.e2e``)::

    MAGIC                      8 bytes  b"PCE2E\\x01\\r\\n"
    header length, header      u16 big-endian, canonical JSON (UTF-8):
                               {"v": 1, "suite": SUITE_NAME, "device_id", "key_id",
                                "chunk_size"}
    sealed length, sealed      u16 big-endian, HPKE (RFC 9180, base mode,
                               DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM)
                               single-shot seal to the device's ephemeral key, with
                               info = MAGIC || header, of the JSON
                               {"k": base64url content key (32 bytes), "t": real format}
    records                    the document in chunks of ``chunk_size`` bytes (the
                               last one 1..chunk_size), each AES-256-GCM with the
                               content key, nonce = 11-byte big-endian chunk index ||
                               1 byte final flag (0x01 on the last chunk only)

The nonce makes each chunk's place part of its authentication: a chunk altered,
moved, dropped, duplicated, or the document cut after any chunk fails to open, as
does anything after the final chunk (the STREAM construction, as in age). The
content key is fresh per document, so the nonce sequence never repeats under a key.
The cloud sees the header (which device and key the document is for, its chunk
size) and the ciphertext's length; never the content, nor its real format.
"""

from __future__ import annotations

import json
import os
import struct
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.crypto.encoding import b64url_decode, b64url_encode
from shared.crypto.keys import PublicKey
from shared.crypto.signatures import PrivateKey, sign, verify

E2E_FORMAT = "application/vnd.printcloud.e2e"
"""The declared format of a protected document (its real format is inside)."""
MAGIC = b"PCE2E\x01\r\n"
SUITE_NAME = "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
CHUNK_SIZE = 64 * 1024
TAG = 16
MAX_CHUNK = 1 << 24
OFFER_CONTEXT = "printcloud-e2e-key:v1"
OFFER_PAYLOAD_PREFIX = "printcloud-e2e:"
OFFER_TTL_S = 24 * 3600
_MAX_HEADER = 1024
_MAX_SEALED = 1024
_MAX_OFFER_PAYLOAD = 2000


class E2EError(ValueError):
    """A protected document or key offer that must not be used; the message says why."""


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class EphemeralKey:
    """A device's ephemeral X25519 key pair; the private half lives in memory only."""

    key_id: uuid.UUID
    private: x25519.X25519PrivateKey = field(repr=False)
    expires_at: int

    @classmethod
    def generate(cls, ttl_s: int = OFFER_TTL_S) -> EphemeralKey:
        """A new key pair, valid for ``ttl_s`` seconds."""
        return cls(uuid.uuid4(), x25519.X25519PrivateKey.generate(), int(time.time()) + ttl_s)

    def public_text(self) -> str:
        """The public half: base64url of its 32 raw bytes."""
        return b64url_encode(_raw(self.private.public_key()))


def _raw(key: x25519.X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class KeyOffer:
    """A device's ephemeral public key, signed with its device key."""

    device_id: uuid.UUID
    key_id: uuid.UUID
    public_key: str
    expires_at: int
    signature: str

    def as_json(self) -> dict[str, Any]:
        """The offer as the API carries it."""
        return {
            "device_id": str(self.device_id), "key_id": str(self.key_id),
            "public_key": self.public_key, "expires_at": self.expires_at,
            "signature": self.signature,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyOffer:
        """An offer from its JSON form, or E2EError."""
        try:
            return cls(
                uuid.UUID(str(data["device_id"])), uuid.UUID(str(data["key_id"])),
                str(data["public_key"]), int(data["expires_at"]), str(data["signature"]),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError):
            raise E2EError("not a key offer (device_id, key_id, public_key, expires_at, "
                           "signature)") from None  # fmt: skip


def offer_message(device_id: uuid.UUID, key_id: uuid.UUID, public_key: str, expires: int) -> bytes:
    """The exact bytes a device signs to offer an ephemeral key."""
    return f"{OFFER_CONTEXT}\n{device_id}\n{key_id}\n{public_key}\n{int(expires)}".encode()


def make_offer(device_key: PrivateKey, device_id: uuid.UUID, key: EphemeralKey) -> KeyOffer:
    """The offer of ``key``, signed with the device's key."""
    public = key.public_text()
    message = offer_message(device_id, key.key_id, public, key.expires_at)
    return KeyOffer(
        device_id, key.key_id, public, key.expires_at, b64url_encode(sign(device_key, message))
    )


def verify_offer(
    offer: KeyOffer, device_key: PublicKey, device_id: uuid.UUID, now: float | None = None
) -> x25519.X25519PublicKey:
    """The offered public key, when the offer is for ``device_id``, signed by
    ``device_key`` and not expired; E2EError otherwise."""
    if offer.device_id != device_id:
        raise E2EError(f"the key offer is for device {offer.device_id}, not {device_id}")
    try:
        signature = b64url_decode(offer.signature)
        raw = b64url_decode(offer.public_key)
    except ValueError:
        raise E2EError("the key offer is damaged (not base64url)") from None
    message = offer_message(offer.device_id, offer.key_id, offer.public_key, offer.expires_at)
    if not verify(device_key, message, signature):
        raise E2EError("the key offer is not signed by the device's key: refusing it")
    if offer.expires_at <= (time.time() if now is None else now):
        raise E2EError("the device's key offer has expired; ask the device for a fresh one")
    if len(raw) != 32:
        raise E2EError("the offered key is not an X25519 public key")
    return x25519.X25519PublicKey.from_public_bytes(raw)


def encode_offer_payload(url: str, offer: KeyOffer) -> str:
    """The text a device shows as a QR code (or announces on the local network)."""
    document = {"u": url, **offer.as_json()}
    raw = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    return OFFER_PAYLOAD_PREFIX + b64url_encode(raw)


def decode_offer_payload(text: str) -> tuple[str, KeyOffer]:
    """The API base URL and the key offer a device's QR code holds, or E2EError."""
    text = text.strip()
    if len(text) > _MAX_OFFER_PAYLOAD or not text.startswith(OFFER_PAYLOAD_PREFIX):
        raise E2EError(f"this is not a Printcloud key code (it starts with "
                       f"{OFFER_PAYLOAD_PREFIX!r})")  # fmt: skip
    try:
        document = json.loads(b64url_decode(text.removeprefix(OFFER_PAYLOAD_PREFIX)))
    except (ValueError, UnicodeDecodeError):
        raise E2EError("this key code is damaged (not base64url JSON)") from None
    if not isinstance(document, dict) or not isinstance(document.get("u"), str):
        raise E2EError("this key code names no API address")
    return document["u"].rstrip("/"), KeyOffer.from_json(document)


# --------------------------------------------------------------------------- the format


@dataclass(frozen=True)
class Header:
    """The cleartext part of a protected document: whom it is for, how it is cut."""

    device_id: uuid.UUID
    key_id: uuid.UUID
    chunk_size: int

    def encode(self) -> bytes:
        """The canonical header bytes."""
        document = {"v": 1, "suite": SUITE_NAME, "device_id": str(self.device_id),
                    "key_id": str(self.key_id), "chunk_size": self.chunk_size}  # fmt: skip
        return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Header:
        """The header from its bytes, or E2EError."""
        try:
            document = json.loads(raw)
            header = cls(
                uuid.UUID(str(document["device_id"])), uuid.UUID(str(document["key_id"])),
                int(document["chunk_size"]),
            )  # fmt: skip
            version, suite = document["v"], document["suite"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise E2EError("the protected document's header is damaged") from None
        if version != 1 or suite != SUITE_NAME:
            raise E2EError(f"unsupported protected document version {version!r} / suite {suite!r}")
        if not 1 <= header.chunk_size <= MAX_CHUNK:
            raise E2EError(f"the chunk size {header.chunk_size} is out of range")
        return header


@dataclass(frozen=True)
class Framing:
    """Where a protected document's records start, and its header."""

    header: Header
    header_raw: bytes
    sealed: bytes
    body_offset: int


Read = Callable[[int], bytes]
Write = Callable[[bytes], Any]


def _nonce(index: int, final: bool) -> bytes:
    if index >= 1 << 88:
        raise E2EError("the document has too many chunks")
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


def encrypt(
    read: Read,
    write: Write,
    recipient: x25519.X25519PublicKey,
    device_id: uuid.UUID,
    key_id: uuid.UUID,
    content_type: str,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """Encrypt what ``read`` gives (to its end) for ``recipient``, writing the protected
    document to ``write`` chunk by chunk; returns the plaintext's size. One chunk (and
    the next, to know which is the last) is in memory at a time."""
    header = Header(device_id, key_id, chunk_size).encode()
    content_key = AESGCM.generate_key(bit_length=256)
    envelope = json.dumps({"k": b64url_encode(content_key), "t": content_type}).encode()
    sealed = SUITE.encrypt(envelope, recipient, info=MAGIC + header)
    write(MAGIC + struct.pack(">H", len(header)) + header + struct.pack(">H", len(sealed)) + sealed)
    aead = AESGCM(content_key)
    current, index, total = read(chunk_size), 0, 0
    if not current:
        raise E2EError("an empty document cannot be protected")
    while current:
        upcoming = read(chunk_size)
        write(aead.encrypt(_nonce(index, not upcoming), current, None))
        total += len(current)
        current, index = upcoming, index + 1
    return total


def read_framing(read: Read) -> Framing:
    """The magic, header and sealed key of a protected document (E2EError if damaged);
    ``read`` is left at the first record."""
    start = read(len(MAGIC) + 2)
    if len(start) < len(MAGIC) + 2 or not start.startswith(MAGIC):
        raise E2EError("this is not a Printcloud protected document")
    (header_len,) = struct.unpack(">H", start[len(MAGIC) :])
    if not 0 < header_len <= _MAX_HEADER:
        raise E2EError("the protected document's header is damaged")
    header_raw = read(header_len)
    if len(header_raw) < header_len:
        raise E2EError("the protected document is truncated in its header")
    header = Header.decode(header_raw)
    raw_len = read(2)
    sealed_len = struct.unpack(">H", raw_len)[0] if len(raw_len) == 2 else 0
    if not 32 + TAG < sealed_len <= _MAX_SEALED:
        raise E2EError("the protected document's sealed key is damaged")
    sealed = read(sealed_len)
    if len(sealed) < sealed_len:
        raise E2EError("the protected document is truncated in its sealed key")
    return Framing(header, header_raw, sealed, len(MAGIC) + 4 + header_len + sealed_len)


def check_structure(handle: BinaryIO) -> Header:
    """What the cloud can check of a protected document without its key: the framing,
    and records whose sizes fit the chunk size (the last one holding at least a byte)."""
    handle.seek(0)
    framing = read_framing(handle.read)
    body = os.fstat(handle.fileno()).st_size - framing.body_offset
    record = framing.header.chunk_size + TAG
    last = body - (max(0, -(-body // record) - 1)) * record
    if body <= 0:
        raise E2EError("the protected document holds no chunk")
    if last <= TAG:
        raise E2EError("the protected document's last chunk is cut short")
    return framing.header


@dataclass(frozen=True)
class Opened:
    """What the device learns when it opens a protected document's sealed key."""

    header: Header
    content_type: str
    aead: AESGCM = field(repr=False)


def open_envelope(framing: Framing, private: x25519.X25519PrivateKey) -> Opened:
    """The content key and real format, for the holder of the ephemeral private key."""
    try:
        envelope = json.loads(
            SUITE.decrypt(framing.sealed, private, info=MAGIC + framing.header_raw)
        )
        key = b64url_decode(envelope["k"])
        content_type = str(envelope["t"])
    except (InvalidTag, ValueError, KeyError, TypeError):
        raise E2EError("the document's sealed key does not open with this device's key "
                       "(it was encrypted to another key, or altered)") from None  # fmt: skip
    if len(key) != 32:
        raise E2EError("the document's content key is damaged")
    return Opened(framing.header, content_type, AESGCM(key))


def decrypt_records(read: Read, opened: Opened) -> Iterator[bytes]:
    """The document's plaintext chunk by chunk; E2EError when any chunk was altered,
    moved, dropped or added, or the document was cut."""
    size = opened.header.chunk_size + TAG
    current, index = read(size), 0
    if not current:
        raise E2EError("the protected document holds no chunk")
    while current:
        upcoming = read(size)
        try:
            yield opened.aead.decrypt(_nonce(index, not upcoming), current, None)
        except InvalidTag:
            if not upcoming:
                raise E2EError(f"chunk {index} does not open as the last chunk: the document "
                               "was cut short or altered") from None  # fmt: skip
            raise E2EError(f"chunk {index} was altered or is out of order") from None
        current, index = upcoming, index + 1


def decrypt(
    read: Read, write: Write, private: x25519.X25519PrivateKey, key_id: uuid.UUID | None = None
) -> str:
    """Decrypt a whole protected document from ``read`` to ``write``; returns its real
    format. E2EError at the first chunk that fails (the caller discards what was written)."""
    framing = read_framing(read)
    if key_id is not None and framing.header.key_id != key_id:
        raise E2EError(f"the document was encrypted to key {framing.header.key_id}, which "
                       "this device does not hold (keys live in memory only: it restarted "
                       "or the key was replaced)")  # fmt: skip
    opened = open_envelope(framing, private)
    for chunk in decrypt_records(read, opened):
        write(chunk)
    return opened.content_type
