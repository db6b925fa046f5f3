"""Access tokens as auth issues them, for services under test to verify offline: a
signing key (``Signer``), the key set it serves (``FakeIssuer``), and the authenticator
a service gets when it trusts that issuer and an operator token."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shared.crypto.keys import jwk_thumbprint, public_jwk
from shared.http.auth import (
    CompositeAuthenticator,
    JwksCache,
    JwtAuthenticator,
    OperatorTokenAuthenticator,
)

ISSUER, AUDIENCE = "printcloud-auth", "printcloud"
TENANT = uuid.uuid4()


class Signer:
    """A signing key and its JWK, like auth's."""

    def __init__(self, kind: str = "ed25519") -> None:
        if kind == "ed25519":
            self.key: Any = ed25519.Ed25519PrivateKey.generate()
            self.alg = "EdDSA"
        else:
            self.key = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
        jwk = public_jwk(self.key.public_key())
        self.kid = jwk_thumbprint(jwk)
        self.jwk = {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def token(self, headers: dict[str, Any] | None = None, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(uuid.uuid4()),
            "client_id": str(uuid.uuid4()),
            "tenant_id": str(TENANT),
            "roles": ["admin"],
            "scope": "printers:read users:read",
            "iat": now,
            "nbf": now,
            "exp": now + 900,
            "jti": str(uuid.uuid4()),
            **overrides,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        header = {"kid": self.kid, "typ": "at+jwt", **(headers or {})}
        return jwt.encode(claims, self.key, algorithm=self.alg, headers=header)


class FakeIssuer:
    """Serves a JWKS to JwksCache and counts fetches."""

    def __init__(self, *signers: Signer, max_age: float | None = 300) -> None:
        self.signers = list(signers)
        self.max_age = max_age
        self.fetches = 0
        self.down = False

    async def fetch(self) -> tuple[object, float | None]:
        self.fetches += 1
        if self.down:
            raise OSError("connection refused")
        return {"keys": [s.jwk for s in self.signers]}, self.max_age


def trusting(issuer: FakeIssuer, operator_token: str) -> CompositeAuthenticator:
    """A service's authenticator: the operator token, else access tokens of ``issuer``."""
    cache = JwksCache("http://auth/jwks", fetch=issuer.fetch)
    return CompositeAuthenticator(
        OperatorTokenAuthenticator(operator_token),
        JwtAuthenticator("http://auth/jwks", ISSUER, AUDIENCE, leeway_s=0, cache=cache),
    )
