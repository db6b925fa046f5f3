"""Web security of every page: the session from its cookie, CSRF checks on every state
change, and the headers that keep pages to themselves (CSP without inline code, no
framing, no sniffing, no caching of personal pages).

CSRF: a signed-in person's forms carry the session's CSRF token (a hidden ``csrf``
field, or the ``X-CSRF-Token`` header for scripted posts); before sign-in a random token
in the ``pc_csrf`` cookie must come back in the form (double submit). Either way the
``Origin`` header, when the browser sends one, must be the portal's own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from services.portal import handlers
from services.portal.api.context import CONTEXT, SESSION, transactions
from services.portal.domain.model import new_secret, same_token

SESSION_COOKIE = "pc_session"
CSRF_COOKIE = "pc_csrf"
ANON_CSRF = "portal_anon_csrf"
CSRF_PENDING = "portal_csrf_pending"
MULTIPART_PATHS = frozenset({"/portal/print"})
"""Forms that upload files: without the header, their token is their first field."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PREFIX = "/portal"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class PageError(Exception):
    """A page's clear answer to bad input: shown to the person, nothing changed."""

    def __init__(self, status: int, message: str, *, sign_in: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.sign_in = sign_in


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def set_cookie(request: web.Request, resp: web.StreamResponse, name: str, value: str,
               max_age: int | None = None) -> None:  # fmt: skip
    """A cookie only the portal's pages get: HttpOnly, SameSite=Lax, Secure, path /portal."""
    resp.set_cookie(
        name, value, max_age=max_age, path=PREFIX, httponly=True, samesite="Lax",
        secure=CONTEXT.settings(request).secure_cookies,
    )  # fmt: skip


def clear_cookie(request: web.Request, resp: web.StreamResponse, name: str) -> None:
    """Drop a cookie (same attributes as when set)."""
    set_cookie(request, resp, name, "", max_age=0)


def anonymous_csrf(request: web.Request) -> str:
    """The double-submit token of a browser before sign-in (made on first use)."""
    token = request.cookies.get(CSRF_COOKIE) or request.get(ANON_CSRF)
    if not token:
        token = request[ANON_CSRF] = new_secret()
    return str(token)


async def _given_csrf(request: web.Request) -> str | None:
    header = request.headers.get("X-CSRF-Token")
    if header:
        return header
    if request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        value = form.get("csrf")
        return value if isinstance(value, str) else None
    return None


async def _check_state_change(request: web.Request) -> None:
    origin = request.headers.get("Origin")
    if origin is not None and origin != origin_of(CONTEXT.settings(request).portal_url):
        raise PageError(403, "This form was sent from another site; nothing was changed.")
    session = request[SESSION]
    if (
        session is not None
        and request.path in MULTIPART_PATHS
        and request.content_type == "multipart/form-data"
        and "X-CSRF-Token" not in request.headers
    ):
        # Checked by the view on the form's first field, before any file is read.
        request[CSRF_PENDING] = session.csrf_token
        return
    given = await _given_csrf(request)
    if session is not None:
        if not same_token(given, session.csrf_token):
            raise PageError(403, "The form's security token is missing or wrong; nothing "
                            "was changed. Reload the page and try again.")  # fmt: skip
        return
    cookie = request.cookies.get(CSRF_COOKIE)
    if cookie is None or not same_token(given, cookie):
        raise PageError(403, "The form's security token is missing or wrong; nothing was "
                        "changed. Reload the page and try again.")  # fmt: skip


def check_form_token(request: web.Request, given: str | None) -> None:
    """The deferred CSRF check of an upload form (its ``csrf`` field)."""
    expected = request.get(CSRF_PENDING)
    if expected is not None and not same_token(given, expected):
        raise PageError(403, "The form's security token is missing or wrong; nothing was "
                        "changed. Reload the page and try again.")  # fmt: skip
    request[CSRF_PENDING] = None


@web.middleware
async def page_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Session, CSRF and security headers for every page under ``/portal``."""
    if not request.path.startswith(PREFIX):
        return await handler(request)
    from services.portal.api.render import error_page  # the pages import this module

    secret = request.cookies.get(SESSION_COOKIE)
    request[SESSION] = await handlers.current(transactions(request), secret) if secret else None
    try:
        if request.method not in SAFE_METHODS:
            if secret and request[SESSION] is None:
                raise PageError(401, "Your session has expired; nothing was changed. Sign in "
                                "again.", sign_in=True)  # fmt: skip
            await _check_state_change(request)
        resp = await handler(request)
    except PageError as exc:
        resp = await error_page(request, exc)
        if exc.sign_in:
            clear_cookie(request, resp, SESSION_COOKIE)
    if request.get(ANON_CSRF) and not resp.prepared:
        set_cookie(request, resp, CSRF_COOKIE, request[ANON_CSRF])
    if not resp.prepared:
        resp.headers.update(HEADERS)
        if not request.path.startswith(PREFIX + "/static/"):
            resp.headers["Cache-Control"] = "no-store"
    return resp
