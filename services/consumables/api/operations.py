"""The consumables HTTP operations, declared for the OpenAPI document."""

from __future__ import annotations

from services.consumables.api.shapes import (
    Levels,
    OrderOut,
    OrderPage,
    RuleOut,
    RulePage,
    SupplierOut,
    SupplierPage,
)
from services.consumables.domain.commands import (
    CancelOrder,
    CreateRule,
    CreateSupplier,
    LevelQuery,
    Listing,
    OrderQuery,
    ReportDelivered,
    ReportShipped,
    UpdateRule,
)
from services.consumables.domain.signing import SIGNATURE_HEADER
from shared.http.operations import Operation

TAG = "consumables"
_SIGNED = {
    SIGNATURE_HEADER: (
        "t=<unix seconds>,n=<fresh nonce, 16-64 of [A-Za-z0-9_-]>,v2=<hex HMAC-SHA256 under "
        "the supplier's secret of 'v2\\n<t>\\n<n>\\nPOST\\n<path>\\n' + body>; instead of an "
        "administrator's bearer token. Refused outside the time window and for a nonce "
        "already received"
    )
}
_CALLBACK = (
    "Called by the order's supplier, signing the whole request (order and step by the "
    "path, time, nonce, body) with its secret, or by a tenant "
    "administrator with a bearer token. A repeated or late report (shipped after delivered) "
    "answers the order unchanged; a closed order answers 409. The body may be empty."
)

OPERATIONS: list[Operation] = [
    Operation(
        "POST", "/v1/supply-rules", "Add a supply rule", TAG, {201: RuleOut}, body=CreateRule,
        errors=(400, 401, 403, 409, 415, 422),
        description="Tenant administrators add rules for their tenant; operators may add "
        "platform defaults (no tenant_id). Two rules with the same region, model, colour and "
        "kind in one scope are refused (409).",
    ),
    Operation(
        "GET", "/v1/supply-rules", "List supply rules", TAG, {200: RulePage}, query=Listing,
        errors=(401, 403, 422),
        description="The caller's tenant's rules and the platform defaults (tenant_id null).",
    ),
    Operation("GET", "/v1/supply-rules/{rule_id}", "Get a supply rule", TAG, {200: RuleOut},
              errors=(401, 403, 404)),
    Operation(
        "PATCH", "/v1/supply-rules/{rule_id}", "Change a supply rule", TAG, {200: RuleOut},
        body=UpdateRule, errors=(400, 401, 403, 404, 409, 415, 422),
    ),
    Operation("DELETE", "/v1/supply-rules/{rule_id}", "Delete a supply rule", TAG,
              {204: "Deleted."}, errors=(401, 403, 404)),
    Operation(
        "POST", "/v1/suppliers", "Add a supplier", TAG, {201: SupplierOut}, body=CreateSupplier,
        errors=(400, 401, 403, 415, 422),
        description="The secret signs the webhook bodies and the supplier's callbacks; it is "
        "never shown again.",
    ),
    Operation("GET", "/v1/suppliers", "List suppliers", TAG, {200: SupplierPage}, query=Listing,
              errors=(401, 403, 422)),
    Operation("GET", "/v1/suppliers/{supplier_id}", "Get a supplier", TAG, {200: SupplierOut},
              errors=(401, 403, 404)),
    Operation("GET", "/v1/supply-orders", "List supply orders", TAG, {200: OrderPage},
              query=OrderQuery, errors=(401, 403, 422)),
    Operation("GET", "/v1/supply-orders/{order_id}", "Get a supply order", TAG, {200: OrderOut},
              errors=(401, 403, 404)),
    Operation(
        "POST", "/v1/supply-orders/{order_id}/shipped", "Report an order shipped", TAG,
        {200: OrderOut}, body=ReportShipped, errors=(400, 401, 403, 404, 409, 415, 422),
        public=True, description=_CALLBACK, headers=_SIGNED,
    ),
    Operation(
        "POST", "/v1/supply-orders/{order_id}/delivered", "Report an order delivered", TAG,
        {200: OrderOut}, body=ReportDelivered, errors=(400, 401, 403, 404, 409, 415, 422),
        public=True, description=_CALLBACK, headers=_SIGNED,
    ),
    Operation(
        "POST", "/v1/supply-orders/{order_id}/cancel", "Cancel a supply order", TAG,
        {200: OrderOut}, body=CancelOrder, errors=(400, 401, 403, 404, 409, 415, 422),
        description="Administrators cancel an open order; a webhook not yet accepted is not "
        "sent. The body may be empty.",
    ),
    Operation(
        "GET", "/v1/supply-levels", "A printer's supply levels", TAG, {200: Levels},
        query=LevelQuery, errors=(401, 403, 422),
        description="The latest level of each supply and the last 100 reported levels.",
    ),
]  # fmt: skip
