"""The notifications HTTP operations, declared for the OpenAPI document."""

from __future__ import annotations

from services.notifications.api.shapes import (
    DeliveryDetail,
    DeliveryOut,
    DeliveryPage,
    EndpointCreated,
    EndpointOut,
    EndpointPage,
    SecretRotated,
)
from services.notifications.domain.commands import (
    CreateEndpoint,
    DeliveryQuery,
    Listing,
    RotateSecret,
    UpdateEndpoint,
)
from shared.http.operations import Operation

TAG = "webhooks"
BASE = "/v1/webhook-endpoints"
ONE = BASE + "/{endpoint_id}"

OPERATIONS: list[Operation] = [
    Operation(
        "POST", BASE, "Subscribe a webhook endpoint", TAG, {201: EndpointCreated},
        body=CreateEndpoint, errors=(400, 401, 403, 415, 422),
        description="Tenant administrators subscribe a URL to event types, optionally only "
        "for some printers, users or API tokens. The URL must be https and resolve to public "
        "addresses only (422 names the reason otherwise). The answer carries the signing "
        "secret, never shown again; see docs/webhooks.md to verify signatures.",
    ),
    Operation("GET", BASE, "List webhook endpoints", TAG, {200: EndpointPage}, query=Listing,
              errors=(401, 403, 422)),
    Operation("GET", ONE, "Get a webhook endpoint", TAG, {200: EndpointOut},
              errors=(401, 403, 404)),
    Operation(
        "PATCH", ONE, "Change a webhook endpoint", TAG, {200: EndpointOut}, body=UpdateEndpoint,
        errors=(400, 401, 403, 404, 415, 422),
        description="`enabled: true` switches a disabled endpoint on again; its waiting "
        "deliveries resume in order.",
    ),
    Operation("DELETE", ONE, "Delete a webhook endpoint", TAG, {204: "Deleted."},
              errors=(401, 403, 404)),
    Operation(
        "POST", ONE + "/secret/rotate", "Rotate an endpoint's signing secret", TAG,
        {200: SecretRotated}, body=RotateSecret, errors=(400, 401, 403, 404, 415, 422),
        description="A new secret signs from now on; the previous ones keep signing too "
        "(every webhook carries one signature per secret) until `previous_until`. The body "
        "may be empty.",
    ),
    Operation(
        "GET", ONE + "/deliveries", "An endpoint's delivery log", TAG, {200: DeliveryPage},
        query=DeliveryQuery, errors=(401, 403, 404, 422),
        description="Newest first: state, attempts, the last answer's status and latency.",
    ),
    Operation(
        "GET", ONE + "/deliveries/{delivery_id}", "One delivery with its attempts", TAG,
        {200: DeliveryDetail}, errors=(401, 403, 404, 422),
    ),
    Operation(
        "POST", ONE + "/deliveries/{delivery_id}/redeliver", "Deliver a message again", TAG,
        {202: DeliveryOut}, errors=(401, 403, 404, 422),
        description="Queues the delivery's message again with the same webhook-id (a new "
        "log line), after the deliveries of its job or printer already waiting.",
    ),
]  # fmt: skip
