"""Pages from Jinja2 templates (autoescaped), with what every page shows: the person,
the navigation and the CSRF token of its forms."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from services.portal.api.context import session_of
from services.portal.api.security import PageError, anonymous_csrf
from shared.http.middleware import public

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
STATIC = Path(__file__).resolve().parents[1] / "static"


MESSAGES = {
    "signed-out": "You are signed out.",
    "signed-out-everywhere": "You are signed out in every browser.",
    "passkey-added": "Your passkey was added; use it next time you sign in.",
    "printer-claimed": "The printer was added.",
    "printer-relayed": "The printer was added; it joins when it next reaches the cloud.",
    "printer-renamed": "The printer was renamed.",
    "quota-set": "The quota was saved.",
    "printer-moved": "The printer was moved.",
    "members-saved": "The member printers were saved.",
    "rule-added": "The rule was added.",
    "rule-changed": "The rule was changed.",
    "rule-deleted": "The rule was deleted.",
    "user-changed": "The person's role and status were saved.",
    "reservation-made": "The printer was reserved; your kept documents are queued there.",
    "reservation-canceled": "The reservation was cancelled.",
    "document-kept": "The document is kept; reserve a printer to print it.",
}
"""The notices a page shows after a form (``?message=``); anything else is not shown."""


def setup(app: web.Application) -> None:
    """The template environment: autoescaping on; ``static(name)`` is a file's URL."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(default_for_string=True, default=True),
    )

    versions = {f.name: hashlib.sha256(f.read_bytes()).hexdigest()[:12]
                for f in STATIC.iterdir() if f.is_file()}  # fmt: skip

    def static(name: str) -> str:
        return f"/portal/static/{name}?v={versions[name]}"

    env.globals.update(static=static, messages=MESSAGES)


def _message(key: str) -> str:
    if key.startswith("released-") and key[9:].isdigit():
        return key
    return key if key in MESSAGES else ""


def csrf_token(request: web.Request) -> str:
    """The token forms of this page carry."""
    session = session_of(request)
    return session.csrf_token if session else anonymous_csrf(request)


async def page(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """Render ``template`` with the common context."""
    session = session_of(request)
    common = {
        "session": session,
        "csrf": csrf_token(request),
        "path": request.path,
        "message": _message(request.query.get("message", "")),
        "title": context.pop("title", "Printcloud"),
    }
    resp = aiohttp_jinja2.render_template(template, request, {**common, **context}, status=status)
    resp.content_type = "text/html"
    resp.charset = "utf-8"
    return resp


async def error_page(request: web.Request, exc: PageError) -> web.Response:
    """The clear message of a refused request."""
    if exc.sign_in:
        request["portal_session"] = None
    return await page(
        request, "error.html", status=exc.status, title="Not done",
        error=exc.message, sign_in=exc.sign_in,
    )  # fmt: skip


STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}


@public
async def static_file(request: web.Request) -> web.StreamResponse:
    """GET /portal/static/{name}: the portal's own scripts and stylesheet (no session
    needed; names outside the folder are not found)."""
    name = request.match_info["name"]
    path = STATIC / name
    if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={
        "Content-Type": f"{STATIC_TYPES[path.suffix]}; charset=utf-8",
        "Cache-Control": "public, max-age=31536000, immutable",
    })  # fmt: skip


def redirect(location: str) -> web.Response:
    """See other: where a form post leads (post/redirect/get)."""
    return web.Response(status=303, headers={"Location": location})
