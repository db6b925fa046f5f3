"""The protected-document format and device key offers (shared.crypto.e2e): a document
opens only whole, in order, with the key it was sealed to; an offer only with the
device key that signed it."""

from __future__ import annotations

import io
import os
import tempfile
import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from shared.crypto.e2e import (
    TAG,
    E2EError,
    EphemeralKey,
    KeyOffer,
    check_structure,
    decode_offer_payload,
    decrypt,
    encode_offer_payload,
    encrypt,
    make_offer,
    read_framing,
    verify_offer,
)

DEVICE = uuid.uuid4()
CHUNK = 1000


def _seal(plain: bytes, key: EphemeralKey, chunk: int = CHUNK) -> bytes:
    out = io.BytesIO()
    encrypt(io.BytesIO(plain).read, out.write, key.private.public_key(), DEVICE, key.key_id,
            "application/pdf", chunk)  # fmt: skip
    return out.getvalue()


def _open(sealed: bytes, key: EphemeralKey) -> tuple[str, bytes]:
    out = io.BytesIO()
    fmt = decrypt(io.BytesIO(sealed).read, out.write, key.private, key.key_id)
    return fmt, out.getvalue()


def _records(sealed: bytes, chunk: int = CHUNK) -> tuple[bytes, list[bytes]]:
    offset = read_framing(io.BytesIO(sealed).read).body_offset
    body, size = sealed[offset:], chunk + TAG
    return sealed[:offset], [body[i : i + size] for i in range(0, len(body), size)]


@pytest.mark.parametrize("length", [1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 7])
def test_a_document_comes_back_byte_for_byte_with_its_real_format(length: int) -> None:
    key = EphemeralKey.generate()
    plain = os.urandom(length)
    sealed = _seal(plain, key)
    assert length < 64 or plain[:64] not in sealed  # (a byte or two may occur by chance)
    assert _open(sealed, key) == ("application/pdf", plain)


def test_an_empty_document_is_not_protected() -> None:
    with pytest.raises(E2EError, match="empty"):
        _seal(b"", EphemeralKey.generate())


def test_an_altered_chunk_fails_naming_it() -> None:
    key = EphemeralKey.generate()
    head, records = _records(_seal(os.urandom(3 * CHUNK + 5), key))
    altered = bytearray(records[1])
    altered[10] ^= 1
    with pytest.raises(E2EError, match="chunk 1 was altered or is out of order"):
        _open(head + records[0] + bytes(altered) + records[2] + records[3], key)


def test_reordered_dropped_duplicated_chunks_fail() -> None:
    key = EphemeralKey.generate()
    head, r = _records(_seal(os.urandom(3 * CHUNK + 5), key))
    for body in (
        r[1] + r[0] + r[2] + r[3],  # swapped
        r[0] + r[2] + r[3],  # one dropped
        r[0] + r[0] + r[1] + r[2] + r[3],  # one duplicated
        r[0] + r[1] + r[3] + r[2],  # the last one moved
    ):
        with pytest.raises(E2EError, match="chunk"):
            _open(head + body, key)


def test_a_document_cut_at_a_chunk_boundary_or_extended_fails() -> None:
    key = EphemeralKey.generate()
    head, r = _records(_seal(os.urandom(3 * CHUNK), key))
    with pytest.raises(E2EError, match="cut short"):
        _open(head + r[0] + r[1], key)
    with pytest.raises(E2EError, match="chunk"):
        _open(head + r[0] + r[1] + r[2] + r[2], key)


def test_an_altered_header_or_another_key_does_not_open() -> None:
    key, other = EphemeralKey.generate(), EphemeralKey.generate()
    sealed = _seal(b"secret", key)
    with pytest.raises(E2EError, match="does not hold"):
        _open(sealed, other)
    out = io.BytesIO()
    with pytest.raises(E2EError, match="does not open with this device's key"):
        decrypt(io.BytesIO(sealed).read, out.write, other.private)  # the key id not checked
    tampered = sealed.replace(str(DEVICE).encode(), str(uuid.uuid4()).encode())
    with pytest.raises(E2EError, match="does not open"):
        _open(tampered, key)


def _structure(data: bytes) -> None:
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        handle.flush()
        check_structure(handle)


def test_the_structural_check_takes_the_format_and_refuses_what_cannot_be_it() -> None:
    key = EphemeralKey.generate()
    sealed = _seal(os.urandom(2 * CHUNK + 3), key)
    _structure(sealed)
    head, r = _records(sealed)
    for bad, why in (
        (b"%PDF-1.7 not protected", "not a Printcloud protected document"),
        (head, "holds no chunk"),
        (head + r[0] + r[1] + r[2][:TAG], "cut short"),
        (sealed[:20], "truncated|damaged"),
    ):
        with pytest.raises(E2EError, match=why):
            _structure(bad)


def test_an_offer_verifies_only_with_its_device_key_for_its_device_and_in_time() -> None:
    device_key = ed25519.Ed25519PrivateKey.generate()
    key = EphemeralKey.generate(ttl_s=60)
    offer = make_offer(device_key, DEVICE, key)
    public = verify_offer(offer, device_key.public_key(), DEVICE)
    assert public.public_bytes_raw() == key.private.public_key().public_bytes_raw()
    forged = make_offer(ed25519.Ed25519PrivateKey.generate(), DEVICE, EphemeralKey.generate())
    with pytest.raises(E2EError, match="not signed by the device's key"):
        verify_offer(forged, device_key.public_key(), DEVICE)
    swapped = KeyOffer(DEVICE, offer.key_id, forged.public_key, offer.expires_at, offer.signature)
    with pytest.raises(E2EError, match="not signed"):
        verify_offer(swapped, device_key.public_key(), DEVICE)
    with pytest.raises(E2EError, match="for device"):
        verify_offer(offer, device_key.public_key(), uuid.uuid4())
    with pytest.raises(E2EError, match="expired"):
        verify_offer(offer, device_key.public_key(), DEVICE, now=time.time() + 61)


def test_the_qr_payload_carries_the_offer_and_the_cloud() -> None:
    offer = make_offer(ed25519.Ed25519PrivateKey.generate(), DEVICE, EphemeralKey.generate())
    url, decoded = decode_offer_payload(encode_offer_payload("https://print.example/", offer))
    assert (url, decoded) == ("https://print.example", offer)
    for bad in ("printcloud-login:abc", "printcloud-e2e:!!!", "printcloud-e2e:e30"):
        with pytest.raises(E2EError):
            decode_offer_payload(bad)
