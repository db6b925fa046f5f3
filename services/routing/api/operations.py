"""Routing's HTTP operations, as declared for the public API document, and the
shapes of its answers."""

from __future__ import annotations

from services.routing.api.shapes import JobRoutingView, RoutingPolicyView
from services.routing.domain.commands import SetRoutingPolicy
from shared.http.operations import Operation

TAG = "routing"
TAGS = {TAG: "Where jobs go: printers' offline policies and the decisions taken for a job."}


POLICY_PATH = "/v1/printers/{printer_id}/routing-policy"

OPERATIONS: list[Operation] = [
    Operation(
        method="GET",
        path=POLICY_PATH,
        summary="A printer's offline policy (the default when none is set)",
        tag=TAG,
        responses={200: RoutingPolicyView},
        errors=(401, 403, 404),
        description="Tenant admins (scope printers:read) and operators.",
    ),
    Operation(
        method="PUT",
        path=POLICY_PATH,
        summary="Set what happens to a printer's jobs when it stays offline",
        tag=TAG,
        body=SetRoutingPolicy,
        responses={200: RoutingPolicyView},
        errors=(400, 401, 403, 404, 413, 415, 422),
        description="Tenant admins (scope printers:write) and operators. The failover "
        "printer must be another printer of the same tenant.",
    ),
    Operation(
        method="DELETE",
        path=POLICY_PATH,
        summary="Reset a printer's offline policy to the default",
        tag=TAG,
        responses={204: "The default policy applies."},
        errors=(401, 403, 404),
        description="Tenant admins (scope printers:write) and operators.",
    ),
    Operation(
        method="GET",
        path="/v1/jobs/{job_id}/routing",
        summary="Every routing decision taken for a job",
        tag=TAG,
        responses={200: JobRoutingView},
        errors=(401, 403, 404),
        description="Tenant admins (scope jobs:read) and operators, for support.",
    ),
]
