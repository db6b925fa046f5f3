"""Verifying an identity provider's ID token (OpenID Connect Core §3.1.3.7) with
Authlib's JOSE: the signature against the provider's JWKS, then issuer, audience,
authorised party, expiry, issue time and the nonce the sign-in started with."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from authlib.jose import JsonWebKey, JsonWebToken
from authlib.jose.errors import (
    DecodeError,
    ExpiredTokenError,
    InvalidTokenError,
    JoseError,
    MissingClaimError,
)

from services.auth.domain.errors import SignInRefused

ALGORITHMS = ["RS256", "ES256", "PS256", "EdDSA"]
"""Asymmetric algorithms only: a token signed with the client secret (HS256) or none
is never accepted."""
LEEWAY_S = 60


def verify_id_token(
    token: str,
    jwks: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The ID token's claims when it verifies; SignInRefused naming what did not."""
    try:
        keys = JsonWebKey.import_key_set(dict(jwks))
    except (JoseError, ValueError, TypeError):
        raise SignInRefused("the identity provider's keys are not usable") from None
    options = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    }
    try:
        claims = JsonWebToken(ALGORITHMS).decode(token, keys, claims_options=options)
        claims.validate(now=int(now if now is not None else time.time()), leeway=LEEWAY_S)
    except JoseError as exc:
        raise SignInRefused(
            f"the identity provider's ID token was refused: {_reason(exc)}"
        ) from None
    except (ValueError, TypeError):
        raise SignInRefused("the identity provider's ID token is not a JWT") from None
    audience = claims.get("aud")
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client_id:
        raise SignInRefused("the ID token was issued to another client (azp)")
    return dict(claims)


def _reason(exc: JoseError) -> str:
    """A short reason: which claim, or that the signature does not verify."""
    name = getattr(exc, "claim_name", None)
    if isinstance(exc, DecodeError):
        return "it is not a JWT"
    if isinstance(exc, ExpiredTokenError | InvalidTokenError):
        return "it has expired or is not valid yet"
    if isinstance(exc, MissingClaimError):
        name = exc.description.split("'")[1] if "'" in exc.description else "a claim"
    if name == "iss":
        return "it comes from another issuer"
    if name == "nonce":
        return "the sign-in it answers was not this one (nonce)"
    if name == "aud":
        return "it was issued to another client"
    if name in {"exp", "iat", "nbf"}:
        return "it has expired or is not valid yet"
    if name:
        return f"claim {name!r} is missing or wrong"
    return "its signature does not verify"
