"""The phone-login protocol (QR payload, what is signed), device-token proofs, and the
principal a device access token becomes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shared.crypto.device_token import (
    device_token_message,
    device_token_request,
    verify_device_signature,
)
from shared.crypto.encoding import b64url_decode, b64url_encode
from shared.crypto.keys import load_public_key
from shared.crypto.signatures import sign, verify
from shared.errors import Forbidden, Unauthenticated
from shared.http.auth import principal_from_claims
from shared.protocols.phone import (
    LoginPayload,
    PayloadError,
    PhoneKeyError,
    approval_request,
    assert_enrolled_origin,
    cloud_origin,
    decode_login_payload,
    device_login_message,
    encode_login_payload,
    generate_phone_key,
    phone_key_algorithm,
    public_key_text,
    read_private_key,
    write_private_key,
)

PRINTER = uuid.UUID("0b9c3f1e-3a4d-4f5e-8a6b-7c8d9e0f1a2b")
CHALLENGE = b64url_encode(bytes(range(32)))


def _payload(**changes: object) -> LoginPayload:
    fields: dict[str, object] = {
        "url": "https://print.example.org",
        "printer_id": PRINTER,
        "challenge": CHALLENGE,
        "expires_at": 1_900_000_000,
    }
    return LoginPayload(**{**fields, **changes})  # type: ignore[arg-type]


def _encoded(document: object) -> str:
    return "printcloud-login:" + b64url_encode(json.dumps(document).encode())


def test_the_qr_payload_round_trips_and_is_compact() -> None:
    text = encode_login_payload(_payload())
    assert text.startswith("printcloud-login:") and len(text) < 250
    assert decode_login_payload(text) == _payload()
    assert decode_login_payload(f"  {text}\n") == _payload()
    inner = json.loads(b64url_decode(text.removeprefix("printcloud-login:")))
    assert inner == {
        "u": "https://print.example.org",
        "p": str(PRINTER),
        "c": CHALLENGE,
        "e": 1_900_000_000,
    }
    # A trailing slash on the URL is dropped, so {u}/v1/device-logins is well formed.
    slashed = _encoded({**inner, "u": "https://print.example.org/"})
    assert decode_login_payload(slashed).url == "https://print.example.org"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("https://example.org", "not a Printcloud login code"),
        ("printcloud-login:%%%", "damaged"),
        ("printcloud-login:" + b64url_encode(b"[1]"), "not a JSON object"),
        (_encoded({"p": str(PRINTER), "c": CHALLENGE, "e": 1}), "no API address"),
        (_encoded({"u": "ftp://x", "p": str(PRINTER), "c": CHALLENGE, "e": 1}), "no API"),
        (_encoded({"u": "https://x", "p": "printer", "c": CHALLENGE, "e": 1}), "no printer"),
        (_encoded({"u": "https://x", "p": str(PRINTER), "e": 1}), "no challenge"),
        (_encoded({"u": "https://x", "p": str(PRINTER), "c": "AAAA", "e": 1}), "challenge"),
        (_encoded({"u": "https://x", "p": str(PRINTER), "c": CHALLENGE}), "no expiry"),
        (_encoded({"u": "https://x", "p": str(PRINTER), "c": CHALLENGE, "e": "1"}), "expiry"),
        ("printcloud-login:" + "A" * 3000, "too long"),
    ],
)
def test_bad_payloads_are_refused_with_a_reason(text: str, words: str) -> None:
    with pytest.raises(PayloadError, match=words):
        decode_login_payload(text)


def test_what_the_phone_signs_is_fixed() -> None:
    assert device_login_message(CHALLENGE, PRINTER, "release_all") == (
        f"printcloud-device-login\n{CHALLENGE}\n{PRINTER}\nrelease_all".encode()
    )
    device = uuid.UUID(int=7)
    assert device_token_message(device, 1_700_000_000) == (
        b"printcloud-device-token\n00000000-0000-0000-0000-000000000007\n1700000000"
    )


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "ed25519"])
def test_an_approval_verifies_with_the_registered_key_only(algorithm: str) -> None:
    key = generate_phone_key(algorithm)  # type: ignore[arg-type]
    assert phone_key_algorithm(key) == algorithm
    key_id = uuid.uuid4()
    body = approval_request(key, key_id, _payload(), "open_session")
    assert body["key_id"] == str(key_id) and body["printer_id"] == str(PRINTER)
    assert body["challenge"] == CHALLENGE and body["action"] == "open_session"
    public = load_public_key(public_key_text(key))
    signature = b64url_decode(body["signature"])
    message = device_login_message(CHALLENGE, PRINTER, "open_session")
    if algorithm == "ecdsa-p256":
        assert verify(public, message, signature, ecdsa_encoding="der")  # DER, as phones sign
    assert verify_device_signature(public, message, signature)
    for other in (
        device_login_message(CHALLENGE, PRINTER, "release_all"),
        device_login_message(CHALLENGE, uuid.uuid4(), "open_session"),
        device_login_message(b64url_encode(bytes(32)), PRINTER, "open_session"),
    ):
        assert not verify_device_signature(public, other, signature)
    stranger = load_public_key(public_key_text(generate_phone_key(algorithm)))  # type: ignore[arg-type]
    assert not verify_device_signature(stranger, message, signature)
    with pytest.raises(ValueError):
        approval_request(key, key_id, _payload(), "everything")  # type: ignore[arg-type]


def test_a_device_token_request_is_signed_by_the_device_key() -> None:
    device = uuid.uuid4()
    for key in (ed25519.Ed25519PrivateKey.generate(), ec.generate_private_key(ec.SECP256R1())):
        body = device_token_request(key, device, timestamp=1_700_000_000)
        assert body["device_id"] == str(device) and body["timestamp"] == 1_700_000_000
        message = device_token_message(device, 1_700_000_000)
        signature = b64url_decode(body["signature"])
        assert verify_device_signature(key.public_key(), message, signature)
        assert not verify_device_signature(
            key.public_key(), device_token_message(device, 1_700_000_001), signature
        )
    p256 = ec.generate_private_key(ec.SECP256R1())
    der = sign(p256, b"m", ecdsa_encoding="der")
    assert verify_device_signature(p256.public_key(), b"m", der)
    assert not verify_device_signature(p256.public_key(), b"m", b"\x00" * 64)


def test_phone_key_files(tmp_path: Path) -> None:
    path = tmp_path / "phone.pem"
    key = generate_phone_key()
    write_private_key(key, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert public_key_text(read_private_key(path)) == public_key_text(key)
    with pytest.raises(FileExistsError):
        write_private_key(generate_phone_key(), path)
    (tmp_path / "junk.pem").write_text("hello")
    for bad in (tmp_path / "junk.pem", tmp_path / "missing.pem"):
        with pytest.raises(PhoneKeyError):
            read_private_key(bad)
    p384 = tmp_path / "p384.pem"
    write_private_key(ec.generate_private_key(ec.SECP384R1()), p384)
    with pytest.raises(PhoneKeyError, match="neither"):
        read_private_key(p384)


def _device_claims(**changes: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "sub": str(PRINTER),
        "tenant_id": str(uuid.UUID(int=1)),
        "roles": ["device"],
        "scope": "device",
        "device": {"kind": "printer", "fingerprint": "ab" * 32},
    }
    return {**claims, **changes}


def test_a_device_token_is_a_device_principal_and_nothing_else() -> None:
    who = principal_from_claims(_device_claims())
    assert who.device_id == PRINTER and who.device_kind == "printer" and who.is_device
    assert who.roles == {"device"} and who.scopes == {"device"}
    assert who.require_device() == PRINTER and who.tenant_scope() == uuid.UUID(int=1)
    with pytest.raises(Forbidden):
        who.require_role("admin", "user")
    with pytest.raises(Forbidden):
        who.require_scope("jobs:submit")
    for bad in (
        _device_claims(roles=["device", "admin"]),
        _device_claims(scope="device printers:read"),
        _device_claims(tenant_id=None),
        _device_claims(sub="printer-1"),
        _device_claims(device=None),
        _device_claims(device={"kind": "phone"}),
        {**_device_claims(), "roles": ["admin"]},  # a device claim on a user-shaped token
    ):
        with pytest.raises(Unauthenticated):
            principal_from_claims(bad)


def test_a_user_token_never_becomes_a_device() -> None:
    user = principal_from_claims(
        {"sub": str(uuid.uuid4()), "tenant_id": str(uuid.UUID(int=1)), "roles": ["admin"],
         "scope": "printers:read jobs:submit"}
    )  # fmt: skip
    assert not user.is_device and "device" not in user.scopes
    with pytest.raises(Forbidden):
        user.require_device()


@pytest.mark.parametrize(
    "url",
    ["http://print.example.org", "http://10.0.0.5:8080", "http://localhost.evil.example"],
)
def test_a_login_code_naming_plain_http_off_loopback_is_refused(url: str) -> None:
    code = _encoded({"u": url, "p": str(PRINTER), "c": CHALLENGE, "e": 1})
    with pytest.raises(PayloadError, match="https"):
        decode_login_payload(code)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://[::1]:81", "http://localhost"])
def test_plain_http_is_accepted_on_loopback_only(url: str) -> None:
    code = _encoded({"u": url, "p": str(PRINTER), "c": CHALLENGE, "e": 1})
    assert decode_login_payload(code).url == url


def test_a_phone_logs_in_only_to_the_cloud_it_was_enrolled_with() -> None:
    enrolled = cloud_origin("https://Print.Example.org/")
    assert enrolled == "https://print.example.org"
    assert_enrolled_origin(_payload(url="https://print.example.org"), enrolled)
    assert_enrolled_origin(_payload(url="https://print.example.org:443"), enrolled)
    for foreign in ("https://print.example.org.evil.test", "https://evil.test",
                    "https://print.example.org:8443"):  # fmt: skip
        with pytest.raises(PayloadError, match="enrolled"):
            assert_enrolled_origin(_payload(url=foreign), enrolled)
