"""The consumables URL table."""

from __future__ import annotations

from aiohttp import web

from services.consumables.api import orders, views


def add_routes(app: web.Application) -> None:
    """Register the consumables HTTP API."""
    app.router.add_post("/v1/supply-rules", views.create_rule)
    app.router.add_get("/v1/supply-rules", views.list_rules)
    app.router.add_get("/v1/supply-rules/{rule_id}", views.get_rule)
    app.router.add_patch("/v1/supply-rules/{rule_id}", views.update_rule)
    app.router.add_delete("/v1/supply-rules/{rule_id}", views.delete_rule)
    app.router.add_post("/v1/suppliers", views.create_supplier)
    app.router.add_get("/v1/suppliers", views.list_suppliers)
    app.router.add_get("/v1/suppliers/{supplier_id}", views.get_supplier)
    app.router.add_get("/v1/supply-orders", orders.list_orders)
    app.router.add_get("/v1/supply-orders/{order_id}", orders.get_order)
    app.router.add_post("/v1/supply-orders/{order_id}/shipped", orders.report_shipped)
    app.router.add_post("/v1/supply-orders/{order_id}/delivered", orders.report_delivered)
    app.router.add_post("/v1/supply-orders/{order_id}/cancel", orders.cancel_order)
    app.router.add_get("/v1/supply-levels", orders.get_levels)
