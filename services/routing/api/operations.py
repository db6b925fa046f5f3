"""Routing's HTTP operations, as declared for the public API document, and the
shapes of its answers."""

from __future__ import annotations

from services.routing.api.shapes import (
    JobRoutingView,
    PrintPolicySetView,
    PrintPolicyView,
    RoutingPolicyView,
    SavedPrintPolicyView,
)
from services.routing.domain.commands import PolicyQuery, SavePrintPolicy, SetRoutingPolicy
from shared.http.operations import Operation

TAG = "routing"
POLICIES_TAG = "policies"
TAGS = {
    TAG: "Where jobs go: printers' offline policies and the decisions taken for a job.",
    POLICIES_TAG: "Print policies per tenant, group or printer: rules every job is judged by "
    "(adjusted or refused), versioned. Precedence: printer over group over tenant, the "
    "strictest within one level, refusal over adjustment.",
}


POLICY_PATH = "/v1/printers/{printer_id}/routing-policy"
PRINT_POLICIES_PATH = "/v1/policies"
PRINT_POLICY_PATH = "/v1/policies/{policy_id}"

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
    Operation(
        method="GET",
        path=PRINT_POLICIES_PATH,
        summary="A tenant's print policies and policy version (or those of an earlier version)",
        tag=POLICIES_TAG,
        query=PolicyQuery,
        responses={200: PrintPolicySetView},
        errors=(401, 403, 404, 422),
        description="Tenant admins (scope printers:read) and operators (who name the "
        "tenant). With version, the policies as they stood then: what the jobs decided "
        "at that version were judged by.",
    ),
    Operation(
        method="POST",
        path=PRINT_POLICIES_PATH,
        summary="Create a print policy for the tenant, a group or a printer",
        tag=POLICIES_TAG,
        query=PolicyQuery,
        body=SavePrintPolicy,
        responses={201: SavedPrintPolicyView},
        errors=(400, 401, 403, 409, 413, 415, 422),
        description="Tenant admins (scope printers:write) and operators (who name the "
        "tenant). Jobs submitted from now on are judged by it; jobs already decided keep "
        "the version they were decided with. 422 names the field for an unknown group or "
        "printer, invalid hours or time zone; 409 for a name already used.",
        descriptions={409: "print policy names are unique in a tenant"},
    ),
    Operation(
        method="GET",
        path=PRINT_POLICY_PATH,
        summary="A print policy",
        tag=POLICIES_TAG,
        responses={200: PrintPolicyView},
        errors=(401, 403, 404),
        description="Tenant admins (scope printers:read) and operators.",
    ),
    Operation(
        method="PUT",
        path=PRINT_POLICY_PATH,
        summary="Replace a print policy (a new revision and a new tenant version)",
        tag=POLICIES_TAG,
        body=SavePrintPolicy,
        responses={200: SavedPrintPolicyView},
        errors=(400, 401, 403, 404, 409, 413, 415, 422),
        description="Tenant admins (scope printers:write) and operators.",
        descriptions={409: "print policy names are unique in a tenant"},
    ),
    Operation(
        method="DELETE",
        path=PRINT_POLICY_PATH,
        summary="Delete a print policy (a new tenant version)",
        tag=POLICIES_TAG,
        responses={204: "The policy no longer applies to new jobs."},
        errors=(401, 403, 404),
        description="Tenant admins (scope printers:write) and operators.",
    ),
]
