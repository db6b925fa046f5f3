"""Signing in and out. Auth owns every credential: a passkey's assertion and an API
token go to auth's public API, which answers an access token; the portal verifies that
token like every service does (the platform's keys), keeps it in a new session, and
uses it for every call the person's pages make."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any, cast

from aiohttp import web
from multidict import CIMultiDict

from services.portal import handlers
from services.portal.api.context import CONTEXT, api, session_of, transactions
from services.portal.api.render import page, redirect
from services.portal.api.security import (
    SESSION_COOKIE,
    PageError,
    clear_cookie,
    set_cookie,
)
from services.portal.domain.model import Method, SignedIn
from services.portal.upstream import ApiError
from shared.errors import DomainError
from shared.http.middleware import AUTHENTICATOR, public

HOME = "/portal/printers"


async def _signed_in(request: web.Request, answer: Any, method: Method) -> SignedIn:
    """Who the access token auth answered is for (verified with the platform's keys)."""
    token = str(answer.get("access_token", ""))
    # The authenticator reads a request's Authorization header; this request's body is
    # read already (it cannot be cloned), so it gets a stand-in with just that header.
    bearer = cast(web.Request, SimpleNamespace(
        headers=CIMultiDict({"Authorization": f"Bearer {token}"}), app=request.app
    ))  # fmt: skip
    try:
        who = await request.app[AUTHENTICATOR].authenticate(bearer)
    except DomainError:
        raise PageError(401, "The platform's answer could not be verified; try again.") from None
    if who.tenant_id is None or who.is_device:
        raise PageError(403, "Only people of a tenant sign in here.")
    return SignedIn(
        user_id=uuid.UUID(who.subject), tenant_id=who.tenant_id, roles=who.roles,
        access_token=token, expires_in=float(answer.get("expires_in", 300)), method=method,
    )  # fmt: skip


async def _open(request: web.Request, signed_in: SignedIn, resp: web.Response) -> web.Response:
    settings = CONTEXT.settings(request)
    secret, _ = await handlers.sign_in(
        transactions(request), signed_in, request.cookies.get(SESSION_COOKIE),
        settings.session_ttl_s,
    )  # fmt: skip
    set_cookie(request, resp, SESSION_COOKIE, secret)
    return resp


@public
async def sign_in_page(request: web.Request) -> web.Response:
    """GET /portal/sign-in."""
    if session_of(request) is not None:
        return redirect(HOME)
    return await page(request, "sign_in.html", title="Sign in")


@public
async def passkey_options(request: web.Request) -> web.Response:
    """POST /portal/sign-in/passkey/options: auth's challenge, for the page's script."""
    try:
        options = await api(request).post("/v1/passkey-challenges")
    except ApiError as exc:
        raise PageError(503 if exc.status == 0 else 502, exc.message) from None
    return web.json_response(options)


@public
async def passkey_sign_in(request: web.Request) -> web.Response:
    """POST /portal/sign-in/passkey: the browser's assertion, checked by auth."""
    try:
        credential = await request.json()
    except ValueError:
        raise PageError(400, "The passkey's answer is not JSON.") from None
    try:
        answer = await api(request).post("/v1/passkey-logins", {"credential": credential})
    except ApiError as exc:
        if exc.status in (400, 401, 403, 422):
            raise PageError(401, "That passkey was not accepted. Try again, or use another "
                            "way to sign in.") from None  # fmt: skip
        raise PageError(503, exc.message) from None
    signed_in = await _signed_in(request, answer, "passkey")
    return await _open(request, signed_in, web.json_response({"location": HOME}))


@public
async def token_sign_in(request: web.Request) -> web.Response:
    """POST /portal/sign-in/token: an API token (``pc_…``) exchanged at auth."""
    form = await request.post()
    token = str(form.get("api_token", "")).strip()
    if not token.startswith("pc_"):
        raise PageError(422, "An API token starts with pc_; nothing was changed.")
    try:
        answer = await api(request).post(
            "/v1/token", {"grant_type": "api_token", "api_token": token}
        )
    except ApiError as exc:
        if exc.status in (400, 401, 403, 422):
            raise PageError(401, "That API token was not accepted (unknown, expired or "
                            "revoked).") from None  # fmt: skip
        raise PageError(503, exc.message) from None
    signed_in = await _signed_in(request, answer, "api-token")
    return await _open(request, signed_in, redirect(HOME))


@public
async def sign_out(request: web.Request) -> web.Response:
    """POST /portal/sign-out: end this browser's session."""
    session = session_of(request)
    if session is not None:
        await handlers.sign_out(transactions(request), session)
    resp = redirect("/portal/sign-in?message=signed-out")
    clear_cookie(request, resp, SESSION_COOKIE)
    return resp


@public
async def sign_out_everywhere(request: web.Request) -> web.Response:
    """POST /portal/sign-out/everywhere: end every session of the person."""
    session = session_of(request)
    if session is not None:
        await handlers.sign_out_everywhere(transactions(request), session)
    resp = redirect("/portal/sign-in?message=signed-out-everywhere")
    clear_cookie(request, resp, SESSION_COOKIE)
    return resp
