"""Every consumables route is declared in OPERATIONS and every declaration is served;
the supplier's callbacks are the only routes reachable without a bearer token."""

from __future__ import annotations

from services.consumables.api.operations import OPERATIONS
from services.consumables.app import SPEC
from services.consumables.settings import ConsumablesSettings
from shared.http.middleware import PUBLIC_PATHS
from shared.service import create_app


def test_declared_operations_are_the_routes() -> None:
    app = create_app(SPEC, ConsumablesSettings(database_url="postgresql://x:y@127.0.0.1:1/db"))
    served = {
        (r.method, r.resource.canonical): r.handler
        for r in app.router.routes()
        if r.resource is not None and r.method != "HEAD"
        and r.resource.canonical not in PUBLIC_PATHS
    }  # fmt: skip
    declared = {(o.method, o.path): o for o in OPERATIONS}
    assert served.keys() == declared.keys()
    public = {k for k, h in served.items() if getattr(h, "__printcloud_public__", False)}
    assert (
        public
        == {k for k, o in declared.items() if o.public}
        == {
            ("POST", "/v1/supply-orders/{order_id}/shipped"),
            ("POST", "/v1/supply-orders/{order_id}/delivered"),
        }
    )
