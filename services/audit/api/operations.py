"""The audit HTTP operations, declared for the OpenAPI document."""

from __future__ import annotations

from services.audit.api.shapes import EntryPage
from services.audit.domain.commands import AuditFilter, AuditListing
from shared.http.operations import Operation

TAG = "audit"
BASE = "/v1/audit"

TAGS = {TAG: "The audit trail: every administrative change, who made it and when, with "
        "the state before and after (docs/audit.md)."}  # fmt: skip

OPERATIONS: list[Operation] = [
    Operation(
        "GET", BASE, "List administrative changes", TAG, {200: EntryPage}, query=AuditListing,
        errors=(401, 403, 422),
        description="The tenant's audit trail, newest first: printers, virtual printers, "
        "devices, users and roles, API tokens, device credentials, quotas and supply orders "
        "changed by a person, a service account or the operator. Tenant administrators "
        "(`admin` role, scope `users:read`) only; the operator sees every tenant. A filter "
        "that is not valid is answered 422 naming it.",
    ),
    Operation(
        "GET", BASE + "/export", "Export administrative changes as JSON lines", TAG,
        {200: "Every matching entry (an `EntryOut` object per line), oldest first, streamed."},
        query=AuditFilter, errors=(401, 403, 422), media_types={200: "application/x-ndjson"},
    ),
]  # fmt: skip
