"""Counters' HTTP operations, as declared for the public API document."""

from __future__ import annotations

from services.counters.api.shapes import (
    PrinterCountersView,
    QuotaList,
    QuotaView,
    UsageExport,
    UsageView,
)
from services.counters.domain.commands import (
    AddOverride,
    CreateQuota,
    QuotaPage,
    UpdateQuota,
    UsageExportQuery,
    UsageQuery,
)
from shared.http.operations import Operation

TAG = "counters"
TAGS = {TAG: "Usage per user, printer and tenant by period; quotas; devices' counters."}


QUOTA = "/v1/quotas/{quota_id}"
ADMINS = "Tenant admins (scopes users:read / users:write) and operators."

OPERATIONS: list[Operation] = [
    Operation(
        method="POST", path="/v1/quotas", summary="Create a quota", tag=TAG, body=CreateQuota,
        responses={201: QuotaView}, errors=(400, 401, 403, 413, 415, 422),
        description=ADMINS + " Usage starts at zero in the current period; the state is "
        "published on counters.quotas.",
    ),
    Operation(
        method="GET", path="/v1/quotas", summary="List the tenant's quotas", tag=TAG,
        query=QuotaPage, responses={200: QuotaList}, errors=(401, 403, 404, 422),
        description=ADMINS,
    ),
    Operation(
        method="GET", path=QUOTA, summary="A quota and its usage", tag=TAG,
        responses={200: QuotaView}, errors=(401, 403, 404), description=ADMINS,
    ),
    Operation(
        method="PATCH", path=QUOTA, summary="Change a quota's limit, policy or members",
        tag=TAG, body=UpdateQuota, responses={200: QuotaView},
        errors=(400, 401, 403, 404, 413, 415, 422), description=ADMINS,
    ),
    Operation(
        method="DELETE", path=QUOTA, summary="Delete a quota", tag=TAG,
        responses={204: "Deleted; its last published state says `deleted`."},
        errors=(401, 403, 404), description=ADMINS,
    ),
    Operation(
        method="POST", path=QUOTA + "/overrides", summary="Let the subject print past the limit",
        tag=TAG, body=AddOverride, responses={201: QuotaView},
        errors=(400, 401, 403, 404, 413, 415, 422),
        description=ADMINS + " Until `until`, routing does not hold the subject's jobs.",
    ),
    Operation(
        method="GET", path="/v1/usage", summary="Usage per hour, day or month", tag=TAG,
        query=UsageQuery, responses={200: UsageView}, errors=(401, 403, 404, 422),
        description="Scope jobs:read. Users read their own usage; admins the tenant's, a "
        "user's (`user_id`) or a printer's (`printer_id`); operators name the `tenant`.",
    ),
    Operation(
        method="GET", path="/v1/usage/export", summary="A month's usage for accounting",
        tag=TAG, query=UsageExportQuery, responses={200: UsageExport},
        media_types={200: "text/csv"}, errors=(401, 403, 404, 422),
        description="Scope jobs:read, tenant administrators (operators name the `tenant`). "
        "The month's totals of the tenant, of each user and of each printer, from the "
        "monthly roll-ups (jobs, pages, colour and mono pages); `format=csv` answers the "
        "same rows as `text/csv` with a header line.",
    ),
    Operation(
        method="GET", path="/v1/counters/{printer_id}", summary="A printer's counters",
        tag=TAG, responses={200: PrinterCountersView}, errors=(401, 403, 404),
        description="Scope printers:read. The values the printer last reported in a "
        "consistent reading, and the usage they add up to.",
    ),
]  # fmt: skip
