"""Who is asking: HTTP Basic (e-mail address and an API token) or a bearer token.

The Basic password is an API token; it is exchanged for an access token at the public
``POST /v1/token`` (grant ``api_token``), as the ``printcloud`` CLI does, and the answer
is reused for a while. The user name is what the client stores beside it and is not
trusted, no more than ``requesting-user-name``: the token alone says who the user is.
Either way the access token is verified like at every service (the platform's keys),
and every call to the platform is made with it, so the platform's own rules decide
what the user may see and do.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from aiohttp import web

from services.ipp.api.context import CONTEXT, HTTP, TOKENS
from services.ipp.upstream import ApiError, PrintcloudApi
from shared.errors import DomainError
from shared.http.auth import Principal
from shared.http.middleware import AUTHENTICATOR

REALM = 'Basic realm="Printcloud", charset="UTF-8"'


class NotAuthenticated(Exception):
    """No usable credentials: HTTP 401 with a Basic challenge."""


class Unavailable(Exception):
    """The platform could not be asked (HTTP 503)."""


@dataclass(frozen=True)
class User:
    """The authenticated caller, the name it gave and its access token."""

    principal: Principal
    name: str
    access_token: str


def _basic(header: str) -> tuple[str, str]:
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise NotAuthenticated("malformed Basic credentials") from None
    name, sep, password = raw.partition(":")
    if not sep or not password:
        raise NotAuthenticated("the password is an API token")
    return name, password


async def _verified(request: web.Request, token: str) -> Principal:
    clone = request.clone(headers={**request.headers, "Authorization": f"Bearer {token}"})
    try:
        return await request.app[AUTHENTICATOR].authenticate(clone)
    except DomainError as exc:
        raise NotAuthenticated(str(exc)) from None


async def authenticate(request: web.Request) -> User:
    """The caller of an IPP request, or NotAuthenticated."""
    header = request.headers.get("Authorization", "")
    scheme = header[:7].lower()
    if scheme.startswith("bearer "):
        token = header[7:].strip()
        return User(await _verified(request, token), "", token)
    if not scheme.startswith("basic "):
        raise NotAuthenticated("credentials are required")
    name, api_token = _basic(header)
    cache = request.app[TOKENS]
    cached = cache.get(api_token)
    if cached is not None:
        token = cached
    else:
        api = PrintcloudApi(request.app[HTTP], CONTEXT.settings(request).api_url)
        try:
            token, expires_in = await api.exchange(api_token)
        except ApiError as exc:
            if exc.status in (400, 401, 403, 422):
                raise NotAuthenticated("the API token was refused") from None
            raise Unavailable(str(exc)) from None
        cache.put(api_token, token, expires_in)
    try:
        principal = await _verified(request, token)
    except NotAuthenticated:
        cache.forget(api_token)
        raise
    return User(principal, name, token)
