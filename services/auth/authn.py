"""How auth authenticates its own callers: the operator token, or one of its own
access tokens checked against its own key table (no HTTP round trip to itself)."""

from __future__ import annotations

import jwt
from aiohttp import web

from services.auth import repository as repo
from shared.errors import Unauthenticated
from shared.http.auth import (
    Authenticator,
    CompositeAuthenticator,
    OperatorTokenAuthenticator,
    Principal,
    bearer_token,
    parse_jwks,
    token_key_id,
    verify_access_token,
)
from shared.service import RUNTIME
from shared.settings import ServiceSettings


class OwnTokenAuthenticator:
    """Verifies access tokens with the public keys in auth's own schema."""

    def __init__(self, issuer: str, audience: str, leeway_s: float) -> None:
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s

    async def authenticate(self, request: web.Request) -> Principal:
        """The principal of a valid access token signed by one of auth's keys."""
        token = bearer_token(request)
        kid, _ = token_key_id(token)
        async with request.app[RUNTIME].pool.acquire() as conn:
            published = await repo.public_keys(conn)
        key = _key(parse_jwks({"keys": [jwk for _, jwk in published]}), kid)
        return verify_access_token(
            token, key, issuer=self._issuer, audience=self._audience, leeway_s=self._leeway_s
        )


def _key(keys: dict[str, jwt.PyJWK], kid: str) -> jwt.PyJWK:
    if kid not in keys:
        raise Unauthenticated("the token's signing key is unknown")
    return keys[kid]


def authenticator(settings: ServiceSettings) -> Authenticator:
    """The operator token first, then auth's own access tokens."""
    token = settings.operator_token.get_secret_value() if settings.operator_token else None
    own = OwnTokenAuthenticator(
        settings.auth_issuer, settings.auth_audience, settings.auth_leeway_s
    )
    return CompositeAuthenticator(OperatorTokenAuthenticator(token), own)
