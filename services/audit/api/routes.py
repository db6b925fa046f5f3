"""The audit URL table."""

from __future__ import annotations

from aiohttp import web

from services.audit.api import views

BASE = "/v1/audit"


def add_routes(app: web.Application) -> None:
    """Register the audit HTTP API."""
    app.router.add_get(BASE, views.list_entries)
    app.router.add_get(f"{BASE}/export", views.export_entries)
