"""A software WebAuthn authenticator for unit tests: an ES256 key, ``none``
attestation, and assertions over the client data a browser would make (the bytes of the
WebAuthn Level 3 formats, built with cbor2 and cryptography)."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from shared.crypto.encoding import b64url_decode, b64url_encode

UP, UV, AT = 0x01, 0x04, 0x40


@dataclass
class SoftAuthenticator:
    """One passkey of one relying party, in a browser at ``origin``."""

    rp_id: str
    origin: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(16))
    counter: int = 0
    user_handle: bytes = b""

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})  # fmt: skip

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin,
                           "crossOrigin": False}).encode()  # fmt: skip

    def _auth_data(self, flags: int, attested: bytes = b"") -> bytes:
        rp_hash = hashlib.sha256(self.rp_id.encode()).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", self.counter) + attested

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """``navigator.credentials.create()``'s answer, as JSON."""
        public = options["publicKey"]
        self.user_handle = b64url_decode(public["user"]["id"])
        attested = (b"\0" * 16 + struct.pack(">H", len(self.credential_id)) + self.credential_id
                    + self._cose_key())  # fmt: skip
        auth_data = self._auth_data(UP | UV | AT, attested)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client = self._client_data("webauthn.create", public["challenge"])
        cid = b64url_encode(self.credential_id)
        return {"id": cid, "rawId": cid, "type": "public-key", "response": {
            "clientDataJSON": b64url_encode(client),
            "attestationObject": b64url_encode(attestation)}}  # fmt: skip

    def get(self, options: dict[str, Any]) -> dict[str, Any]:
        """``navigator.credentials.get()``'s answer, as JSON (the counter goes up)."""
        self.counter += 1
        auth_data = self._auth_data(UP | UV)
        client = self._client_data("webauthn.get", options["publicKey"]["challenge"])
        signed = auth_data + hashlib.sha256(client).digest()
        signature = self.key.sign(signed, ec.ECDSA(hashes.SHA256()))
        cid = b64url_encode(self.credential_id)
        return {"id": cid, "rawId": cid, "type": "public-key", "response": {
            "clientDataJSON": b64url_encode(client),
            "authenticatorData": b64url_encode(auth_data),
            "signature": b64url_encode(signature),
            "userHandle": b64url_encode(self.user_handle)}}  # fmt: skip
