"""How auth authenticates its own callers: the operator token, or one of its own
access tokens, verified by :class:`shared.http.auth.AccessTokenAuthenticator` with the
public keys in auth's own schema (no HTTP round trip to itself)."""

from __future__ import annotations

import jwt
from aiohttp import web

from services.auth.api.context import CONTEXT
from services.auth.repository import SigningKeys
from shared.http.auth import (
    AccessTokenAuthenticator,
    Authenticator,
    CompositeAuthenticator,
    parse_jwks,
)
from shared.service import operator_authenticator
from shared.settings import ServiceSettings


async def own_signing_key(request: web.Request, kid: str) -> jwt.PyJWK | None:
    """The published public key named ``kid``, read from auth's own key table."""
    async with CONTEXT.pool(request).acquire() as conn:
        published = await SigningKeys(conn).public_keys()
    return parse_jwks({"keys": [jwk for _, jwk in published]}).get(kid)


def authenticator(settings: ServiceSettings) -> Authenticator:
    """The operator token first, then auth's own access tokens."""
    own = AccessTokenAuthenticator(
        own_signing_key,
        settings.auth_issuer,
        settings.auth_audience,
        leeway_s=settings.auth_leeway_s,
    )
    return CompositeAuthenticator(operator_authenticator(settings), own)
