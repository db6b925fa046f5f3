"""shared.crypto against published test vectors and its own round trips."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from shared.crypto.encoding import b64_decode_any, b64url_decode, b64url_encode
from shared.crypto.keys import (
    KeyFormatError,
    fingerprint,
    jwk_thumbprint,
    key_algorithm,
    load_public_key,
    public_jwk,
    spki_der,
)
from shared.crypto.sealing import KeyEncryptionKey, SealError, new_key_text
from shared.crypto.signatures import new_nonce, sign, verify

# RFC 8032 section 7.1, TEST 1 and TEST 2.
RFC8032_1 = {
    "secret": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "public": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    "message": "",
    "signature": "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
}
RFC8032_2 = {
    "public": "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    "message": "72",
    "signature": "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
}
# RFC 6979 appendix A.2.5: ECDSA P-256 with SHA-256, messages "sample" and "test".
P256_X = "60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
P256_Y = "7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299"
RFC6979 = {
    b"sample": "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
    "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
    b"test": "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367"
    "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083",
}
ED25519_SPKI_PREFIX = "302a300506032b6570032100"


def _p256_point() -> bytes:
    return bytes.fromhex("04" + P256_X + P256_Y)


@pytest.mark.parametrize("vector", [RFC8032_1, RFC8032_2])
def test_rfc8032_ed25519_vectors_verify(vector: dict[str, str]) -> None:
    key = load_public_key(b64url_encode(bytes.fromhex(vector["public"])))
    message, signature = bytes.fromhex(vector["message"]), bytes.fromhex(vector["signature"])
    assert verify(key, message, signature)
    assert not verify(key, message + b"x", signature)
    assert not verify(key, message, signature[:-1] + bytes([signature[-1] ^ 1]))


def test_rfc8032_test1_signs_deterministically() -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(RFC8032_1["secret"]))
    assert sign(private, b"").hex() == RFC8032_1["signature"]


def test_ed25519_spki_der_and_fingerprint() -> None:
    raw = bytes.fromhex(RFC8032_1["public"])
    der = spki_der(load_public_key(b64url_encode(raw)))
    assert der.hex() == ED25519_SPKI_PREFIX + RFC8032_1["public"]
    assert fingerprint(der) == hashlib.sha256(der).hexdigest()
    assert fingerprint(der) == fingerprint(der).lower() and len(fingerprint(der)) == 64


@pytest.mark.parametrize(("message", "signature"), list(RFC6979.items()))
def test_rfc6979_p256_vectors_verify_raw_and_der(message: bytes, signature: str) -> None:
    key = load_public_key(b64url_encode(_p256_point()))
    raw = bytes.fromhex(signature)
    assert key_algorithm(key) == "ecdsa-p256"
    assert verify(key, message, raw)
    assert not verify(key, message + b"!", raw)
    assert not verify(key, message, raw, ecdsa_encoding="der")
    assert not verify(key, message, raw[:-1])


def test_every_key_form_loads_to_the_same_key() -> None:
    for private in (ed25519.Ed25519PrivateKey.generate(), ec.generate_private_key(ec.SECP256R1())):
        public = private.public_key()
        der = spki_der(public)
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        forms = [pem, b64url_encode(der)]
        if isinstance(public, ec.EllipticCurvePublicKey):
            for fmt in (
                serialization.PublicFormat.UncompressedPoint,
                serialization.PublicFormat.CompressedPoint,
            ):
                forms.append(b64url_encode(public.public_bytes(serialization.Encoding.X962, fmt)))
        else:
            raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            forms.append(b64url_encode(raw))
        assert {spki_der(load_public_key(f)) for f in forms} == {der}


@pytest.mark.parametrize("encoding", ["raw", "der"])
def test_sign_and_verify_a_nonce_round_trip(encoding: str) -> None:
    nonce = new_nonce()
    assert len(nonce) == 32 and nonce != new_nonce()
    for private in (ed25519.Ed25519PrivateKey.generate(), ec.generate_private_key(ec.SECP256R1())):
        sig = sign(private, nonce, ecdsa_encoding=encoding)  # type: ignore[arg-type]
        assert verify(private.public_key(), nonce, sig, ecdsa_encoding=encoding)  # type: ignore[arg-type]
        other = ed25519.Ed25519PrivateKey.generate().public_key()
        assert not verify(other, nonce, sig)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not base64!",
        b64url_encode(b"\x00" * 31),
        b64url_encode(b"\x04" + b"\x01" * 64),  # not on the curve
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
    ],
)
def test_bad_keys_are_refused(text: str) -> None:
    with pytest.raises(KeyFormatError):
        load_public_key(text)


def test_other_curves_and_rsa_are_refused() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    for key in (p384, rsa_key):
        der = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with pytest.raises(KeyFormatError, match="only Ed25519 and ECDSA P-256"):
            load_public_key(b64url_encode(der))


def test_rfc8037_jwk_thumbprint() -> None:
    key = load_public_key(b64url_encode(bytes.fromhex(RFC8032_1["public"])))
    jwk = public_jwk(key)
    assert jwk == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    }
    assert jwk_thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    ec_jwk = public_jwk(load_public_key(b64url_encode(_p256_point())))
    assert set(ec_jwk) == {"kty", "crv", "x", "y"} and len(jwk_thumbprint(ec_jwk)) == 43


def test_base64url_is_strict() -> None:
    assert b64url_decode(b64url_encode(b"\xfb\xff")) == b"\xfb\xff"
    assert b64_decode_any("+/8=") == b"\xfb\xff"
    for bad in ("+/8=", "a", "ab c"):
        with pytest.raises(ValueError):
            b64url_decode(bad)


def test_sealing_round_trip_and_refusals() -> None:
    kek = KeyEncryptionKey.from_text(new_key_text())
    blob = kek.seal(b"private key", aad=b"kid-1")
    assert b"private key" not in blob
    assert kek.open(blob, aad=b"kid-1") == b"private key"
    assert kek.seal(b"private key", aad=b"kid-1") != blob
    with pytest.raises(SealError, match="associated data"):
        kek.open(blob, aad=b"kid-2")
    with pytest.raises(SealError, match="corrupt"):
        kek.open(blob[:-1] + bytes([blob[-1] ^ 1]), aad=b"kid-1")
    with pytest.raises(SealError, match="different key-encryption key"):
        KeyEncryptionKey.from_text(new_key_text()).open(blob, aad=b"kid-1")
    with pytest.raises(SealError):
        kek.open(b"\x02" + blob[1:], aad=b"kid-1")


def test_kek_text_is_validated_and_never_shown() -> None:
    text = new_key_text()
    kek = KeyEncryptionKey.from_text(text)
    assert text not in repr(kek)
    for bad in ("", "short", b64url_encode(b"x" * 16)):
        with pytest.raises(ValueError, match="32 bytes"):
            KeyEncryptionKey.from_text(bad)
