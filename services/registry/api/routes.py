"""The registry's URL table."""

from __future__ import annotations

from aiohttp import web

from services.registry.api import commands, onboarding, views, virtual_printers


def add_routes(app: web.Application) -> None:
    """Register the registry's public HTTP API."""
    app.router.add_post("/v1/tenants", views.create_tenant)
    app.router.add_get("/v1/tenants", views.list_tenants)
    app.router.add_get("/v1/tenants/{tenant_id}", views.get_tenant)
    app.router.add_post("/v1/printers", views.register_printer)
    app.router.add_get("/v1/printers", views.list_printers)
    app.router.add_get("/v1/printers/{printer_id}", views.get_printer)
    app.router.add_patch("/v1/printers/{printer_id}", views.update_printer)
    app.router.add_get("/v1/printers/{printer_id}/capabilities", views.get_capabilities)
    app.router.add_post("/v1/virtual-printers", virtual_printers.create)
    app.router.add_get("/v1/virtual-printers", virtual_printers.list_all)
    app.router.add_get("/v1/virtual-printers/{virtual_printer_id}", virtual_printers.get)
    app.router.add_patch("/v1/virtual-printers/{virtual_printer_id}", virtual_printers.update)
    app.router.add_post("/v1/registrations", onboarding.start_registration)
    app.router.add_post("/v1/registrations/claim", onboarding.claim)
    app.router.add_post("/v1/registrations/relay", onboarding.relay)
    app.router.add_post("/v1/registrations/redeem", onboarding.redeem_registration)
    app.router.add_get("/v1/registrations/{registration_id}", onboarding.poll_registration)
    app.router.add_get("/v1/connectors/{connector_id}", onboarding.get_connector)
    app.router.add_put("/v1/connectors/{connector_id}/devices", onboarding.assign_devices)
    app.router.add_post("/v1/devices/{device_id}/commands", commands.issue)
    app.router.add_get("/v1/devices/{device_id}/commands", commands.pending)
    app.router.add_get("/v1/devices/{device_id}/commands/{command_id}", commands.outcome)
