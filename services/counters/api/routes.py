"""Counters' URL table."""

from __future__ import annotations

from aiohttp import web

from services.counters.api import views


def add_routes(app: web.Application) -> None:
    """Register counters' HTTP API."""
    app.router.add_post("/v1/quotas", views.create_quota)
    app.router.add_get("/v1/quotas", views.list_quotas)
    app.router.add_get("/v1/quotas/{quota_id}", views.get_quota)
    app.router.add_patch("/v1/quotas/{quota_id}", views.update_quota)
    app.router.add_delete("/v1/quotas/{quota_id}", views.delete_quota)
    app.router.add_post("/v1/quotas/{quota_id}/overrides", views.add_override)
    app.router.add_get("/v1/usage", views.usage)
    app.router.add_get("/v1/usage/export", views.usage_export)
    app.router.add_get("/v1/counters/{printer_id}", views.printer_counters)
