"""Routing's URL table."""

from __future__ import annotations

from aiohttp import web

from services.routing.api import views
from services.routing.api.operations import POLICY_PATH, PRINT_POLICIES_PATH, PRINT_POLICY_PATH


def add_routes(app: web.Application) -> None:
    """Register routing's public HTTP API."""
    app.router.add_get(POLICY_PATH, views.get_policy)
    app.router.add_put(POLICY_PATH, views.put_policy)
    app.router.add_delete(POLICY_PATH, views.delete_policy)
    app.router.add_get("/v1/jobs/{job_id}/routing", views.job_routing)
    app.router.add_get(PRINT_POLICIES_PATH, views.list_print_policies)
    app.router.add_post(PRINT_POLICIES_PATH, views.create_print_policy)
    app.router.add_get(PRINT_POLICY_PATH, views.get_print_policy)
    app.router.add_put(PRINT_POLICY_PATH, views.put_print_policy)
    app.router.add_delete(PRINT_POLICY_PATH, views.delete_print_policy)
