"""Signing in and out. Auth owns every credential: a passkey's assertion and an API
token go to auth's public API, which answers an access token; the portal verifies that
token like every service does (the platform's keys), keeps it in a new session, and
uses it for every call the person's pages make."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from multidict import CIMultiDict

from services.portal import handlers
from services.portal.api.context import CONTEXT, HTTP, api, session_of, transactions
from services.portal.api.render import page, redirect
from services.portal.api.security import (
    SESSION_COOKIE,
    PageError,
    clear_cookie,
    set_cookie,
)
from services.portal.domain.model import SIGN_IN_FLOW_TTL, Method, SignedIn
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
    tenant = request.query.get("tenant", "")[:64]
    return await page(request, "sign_in.html", title="Sign in", tenant=tenant)


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


# --------------------------------------------------------------------------- OpenID Connect

FLOW_COOKIE = "pc_flow"
CALLBACK = "/portal/sign-in/oidc/callback"


async def _authorization_endpoint(request: web.Request, issuer: str) -> str:
    """The provider's authorization endpoint, from its discovery document."""
    url = f"{issuer.rstrip('/')}/.well-known/openid-configuration"
    try:
        async with request.app[HTTP].get(url) as resp:
            meta = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        meta = None
    endpoint = meta.get("authorization_endpoint") if isinstance(meta, dict) else None
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        raise PageError(503, "Your identity provider could not be reached; try again later.")
    return endpoint


@public
async def oidc_start(request: web.Request) -> web.Response:
    """GET /portal/sign-in/oidc?tenant=…: off to the tenant's identity provider
    (authorization code with PKCE; state, nonce and verifier kept for this browser)."""
    try:
        tenant_id = uuid.UUID(request.query.get("tenant", ""))
    except ValueError:
        raise PageError(422, "Give your organisation's id to sign in with its provider.") from None
    try:
        provider = await api(request).get(f"/v1/identity-providers/{tenant_id}")
    except ApiError as exc:
        if exc.status == 404:
            raise PageError(404, "This organisation has no identity provider; sign in with "
                            "a passkey or an API token.") from None  # fmt: skip
        raise PageError(503, exc.message) from None
    endpoint = await _authorization_endpoint(request, str(provider["issuer"]))
    redirect_uri = CONTEXT.settings(request).portal_url.rstrip("/") + CALLBACK
    flow, state, browser = await handlers.start_flow(transactions(request), tenant_id, redirect_uri)
    query = urlencode({
        "response_type": "code", "client_id": provider["client_id"],
        "scope": "openid email profile", "redirect_uri": redirect_uri, "state": state,
        "nonce": flow.nonce,
        "code_challenge": create_s256_code_challenge(flow.code_verifier),
        "code_challenge_method": "S256",
    })  # fmt: skip
    # A page with the link, followed by the page's script: the sign-in form's
    # Content-Security-Policy (form-action 'self') would block a redirect off the portal.
    resp = await page(request, "sign_in_provider.html", title="Signing in",
                      url=f"{endpoint}{'&' if '?' in endpoint else '?'}{query}")  # fmt: skip
    set_cookie(request, resp, FLOW_COOKIE, browser, max_age=int(SIGN_IN_FLOW_TTL.total_seconds()))
    return resp


@public
async def oidc_callback(request: web.Request) -> web.Response:
    """GET /portal/sign-in/oidc/callback?code=…&state=…: the provider sent the browser
    back; auth redeems the code and verifies the ID token."""
    state = request.query.get("state", "")
    flow = await handlers.finish_flow(
        transactions(request), state, request.cookies.get(FLOW_COOKIE)
    ) if state else None  # fmt: skip
    if flow is None:
        raise PageError(400, "This sign-in was not started in this browser, or it has "
                        "expired or been used (state). Start again.")  # fmt: skip
    if "error" in request.query:
        reason = request.query.get("error_description") or request.query["error"]
        raise PageError(401, f"Your identity provider did not sign you in: {reason[:200]}")
    body = {"tenant_id": str(flow.tenant_id), "code": request.query.get("code", ""),
            "redirect_uri": flow.redirect_uri, "code_verifier": flow.code_verifier,
            "nonce": flow.nonce}  # fmt: skip
    try:
        answer = await api(request).post("/v1/oidc-logins", body)
    except ApiError as exc:
        if exc.status in (400, 401, 403, 404, 422):
            raise PageError(401, f"Sign-in refused: {exc.message}") from None
        raise PageError(503, exc.message) from None
    signed_in = await _signed_in(request, answer, "oidc")
    resp = await _open(request, signed_in, redirect(HOME))
    clear_cookie(request, resp, FLOW_COOKIE)
    return resp
