"""The IPP endpoint's URL table."""

from __future__ import annotations

from aiohttp import web

from services.ipp.api import views
from services.ipp.api.context import install


def add_routes(app: web.Application) -> None:
    """``/ipp/print/{printer_id}`` (and its job URIs below it)."""
    install(app)
    app.router.add_post("/ipp/print/{printer_id}", views.ipp_request)
    app.router.add_post("/ipp/print/{printer_id}/{job_id}", views.ipp_request)
