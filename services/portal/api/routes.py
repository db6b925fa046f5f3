"""The portal's URL table: every page under ``/portal``."""

from __future__ import annotations

from aiohttp import web

from services.portal.api import admin, audit, manage, signin, views
from services.portal.api.context import install
from services.portal.api.render import setup, static_file
from services.portal.api.security import page_middleware


def add_routes(app: web.Application) -> None:
    """The pages, their static files, templates and web security."""
    install(app)
    setup(app)
    app.middlewares.append(page_middleware)
    r = app.router
    r.add_get("/portal/static/{name}", static_file)
    r.add_get("/portal", views.home)
    r.add_get("/portal/sign-in", signin.sign_in_page)
    r.add_post("/portal/sign-in/passkey/options", signin.passkey_options)
    r.add_post("/portal/sign-in/passkey", signin.passkey_sign_in)
    r.add_post("/portal/sign-in/token", signin.token_sign_in)
    r.add_get("/portal/sign-in/oidc", signin.oidc_start)
    r.add_get("/portal/sign-in/oidc/callback", signin.oidc_callback)
    r.add_post("/portal/sign-out", signin.sign_out)
    r.add_post("/portal/sign-out/everywhere", signin.sign_out_everywhere)
    r.add_get("/portal/printers", views.printers)
    r.add_get("/portal/printers/{printer_id}/add", views.add_printer)
    r.add_get("/portal/print", views.print_form)
    r.add_post("/portal/print", views.print_submit)
    r.add_get("/portal/jobs", views.jobs)
    r.add_get("/portal/jobs/{job_id}", views.job)
    r.add_get("/portal/jobs/{job_id}/events", views.job_events)
    r.add_post("/portal/jobs/{job_id}/cancel", views.cancel)
    r.add_post("/portal/jobs/{job_id}/reprint", views.reprint)
    r.add_get("/portal/release", views.release_form)
    r.add_post("/portal/release", views.release)
    r.add_get("/portal/passkeys", views.passkeys)
    r.add_get("/portal/phone-keys", views.phone_keys)
    r.add_post("/portal/passkeys/options", views.passkey_options)
    r.add_post("/portal/passkeys", views.passkey_register)
    r.add_get("/portal/admin", admin.dashboard)
    r.add_get("/portal/admin/printers", admin.printers)
    r.add_post("/portal/admin/printers/claim", admin.claim)
    r.add_post("/portal/admin/printers/relay", admin.relay)
    r.add_post("/portal/admin/printers/{printer_id}/rename", admin.rename)
    r.add_get("/portal/admin/quotas", admin.quotas)
    r.add_post("/portal/admin/quotas", admin.set_quota)
    r.add_get("/portal/admin/users", admin.users)
    r.add_get("/portal/admin/groups", admin.groups)
    r.add_get("/portal/admin/usage", admin.usage)
    r.add_get("/portal/admin/usage.csv", admin.usage_csv)
    r.add_get("/portal/admin/audit", audit.audit)
    r.add_get("/portal/admin/audit.jsonl", audit.audit_export)
    add_manage_routes(r)


def add_manage_routes(r: web.UrlDispatcher) -> None:
    """Reservations, moving printers, virtual printer members, consumables, roles."""
    r.add_get("/portal/reservations", manage.reservations)
    r.add_post("/portal/reservations", manage.reserve)
    r.add_post("/portal/reservations/{reservation_id}/cancel", manage.cancel_reservation)
    r.add_post("/portal/admin/printers/{printer_id}/move", manage.move)
    r.add_get("/portal/admin/virtual-printers", manage.virtual_printers)
    r.add_post("/portal/admin/virtual-printers/{virtual_printer_id}/members", manage.set_members)
    r.add_get("/portal/admin/consumables", manage.consumables)
    r.add_post("/portal/admin/consumables/rules", manage.add_rule)
    r.add_post("/portal/admin/consumables/rules/{rule_id}", manage.change_rule)
    r.add_post("/portal/admin/consumables/rules/{rule_id}/delete", manage.delete_rule)
    r.add_post("/portal/admin/users/{user_id}", manage.change_user)
