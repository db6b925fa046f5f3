"""What the whole public API shares: the operations every service process serves
(liveness, readiness, metrics), the edge's own (this document), the API's
description and its security schemes."""

from __future__ import annotations

from deploy.apidocs.schemas import JSON
from shared.http.operations import (
    Alive,
    Operation,
    Readiness,
)

COMMON_TAG = "operations"
COMMON_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/healthz",
        "Liveness",
        COMMON_TAG,
        {200: Alive},
        errors=(),
        public=True,
        operation_id="healthz",
        description=(
            "`200` whenever the process answers HTTP. It checks no dependency: use it as a "
            "liveness probe only. The edge answers it for itself; every service process "
            "answers it on its own port."
        ),
        descriptions={200: "The process is alive."},
    ),
    Operation(
        "GET",
        "/readyz",
        "Readiness of one service process (on its own port)",
        COMMON_TAG,
        {200: Readiness, 503: Readiness},
        errors=(),
        public=True,
        operation_id="readyz",
        description=(
            "`200` when this instance should receive traffic: it is not starting or shutting "
            "down, its database answers and holds exactly the migrations this version knows "
            "(none pending, none unknown), Kafka answers, and no background task (outbox relay, "
            "consumers) has crashed. `503` otherwise, with the reason under `checks`. The "
            "database and Kafka checks wait at most 2 seconds each. Served by every service "
            "process on its own port, not through the public base URL."
        ),
        descriptions={200: "Ready.", 503: "Not ready; `checks` says why."},
    ),
    Operation(
        "GET",
        "/metrics",
        "Prometheus metrics of one service process (on its own port)",
        COMMON_TAG,
        {200: "Metrics."},
        errors=(),
        public=True,
        operation_id="metrics",
        description=(
            "The process's metrics in the Prometheus text exposition format. Served by every "
            "service process on its own port, not through the public base URL."
        ),
        media_types={200: "text/plain"},
    ),
)
EDGE_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/openapi.json",
        "This document",
        COMMON_TAG,
        {200: "The OpenAPI 3.1 document of the whole public API, as JSON."},
        errors=(),
        public=True,
        operation_id="getOpenApi",
        description="Served by the edge (the public base URL); `docs/openapi.yaml` holds the same.",
        media_types={200: JSON},
    ),
)

API_DESCRIPTION = """\
Printcloud is open, self-hostable cloud printing. This is its whole public HTTP API,
as served at **one base URL**: an edge router sends each path to the service that owns
it (the registry, auth, queues, routing and the device gateway; see `docs/api.md` for
the table and `docs/architecture.md` for the services). The `printcloud` command is a
client of this API (`printcloud login`, `printcloud print`, `printcloud jobs ...`).

**Authentication.** Every `/v1` operation needs `Authorization: Bearer <token>`, except
those marked otherwise (`POST /v1/token`, whose credential is the API token in the body;
a device's registration and token requests, which it signs with its key). Exchange an API
token for a short-lived access token at `POST /v1/token` and send that. A request without
a valid token is answered `401` before anything else is looked at, including for paths
that do not exist.

**Tenants.** A caller belonging to a tenant only ever sees that tenant's data. A resource
of another tenant is answered `404`, exactly as if it did not exist; so is a path id that
is not a UUID. Platform operators act across tenants.

**Errors.** Every error is `application/problem+json` (RFC 9457) with a stable
machine-readable `code`; input errors list each offending field with the reason in
`errors`. Unknown fields in a request body are refused (`422`), as are unknown query
parameters. The edge itself answers `502` when a service cannot be reached and `503` when
it is not deployed.

**Correlation.** Send `X-Correlation-ID: <uuid>` to tie a request to your own logs;
otherwise one is generated. It is echoed on every response, written to every log line of
the request and becomes the `correlation_id` of the events the request causes. A value
that is not a UUID is replaced by a new one.

**Pagination.** Lists are keyset-paginated in `id` order (ids are random UUIDs, so this
is not creation order). A page has `items` and `next_after`; pass `next_after` as `after`
to get the next page. `next_after` is `null` on a page shorter than `limit`; a full last
page is followed by an empty one.

**Events.** Every change is also published as an event on Kafka; see `docs/events.md`
and `docs/asyncapi.yaml`.
"""

SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "An access token from `POST /v1/token` (a JWT signed by auth, see `docs/auth.md`), "
            "which every service verifies offline with the keys of `/.well-known/jwks.json`; "
            "it carries the caller's tenant, roles and scopes. Devices use the access token "
            "of `POST /v1/device-token` (role `device`)."
        ),
    },
    "operatorToken": {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "The bootstrap operator token (configured with `PRINTCLOUD_<SERVICE>_OPERATOR_TOKEN`;"
            " a local platform keeps it in `operator-token`): a platform operator across tenants."
        ),
    },
}
