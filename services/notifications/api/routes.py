"""The notifications URL table."""

from __future__ import annotations

from aiohttp import web

from services.notifications.api import views

BASE = "/v1/webhook-endpoints"


def add_routes(app: web.Application) -> None:
    """Register the notifications HTTP API."""
    app.router.add_post(BASE, views.create_endpoint)
    app.router.add_get(BASE, views.list_endpoints)
    app.router.add_get(f"{BASE}/{{endpoint_id}}", views.get_endpoint)
    app.router.add_patch(f"{BASE}/{{endpoint_id}}", views.update_endpoint)
    app.router.add_delete(f"{BASE}/{{endpoint_id}}", views.delete_endpoint)
    app.router.add_post(f"{BASE}/{{endpoint_id}}/secret/rotate", views.rotate_secret)
    app.router.add_get(f"{BASE}/{{endpoint_id}}/deliveries", views.list_deliveries)
    app.router.add_get(f"{BASE}/{{endpoint_id}}/deliveries/{{delivery_id}}", views.get_delivery)
    app.router.add_post(
        f"{BASE}/{{endpoint_id}}/deliveries/{{delivery_id}}/redeliver", views.redeliver
    )
