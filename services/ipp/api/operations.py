"""The IPP endpoint's HTTP operations, declared for the OpenAPI document."""

from __future__ import annotations

from shared.http.operations import Operation

TAG = "ipp"
TAGS = {TAG: "IPP/2.x: every printer and virtual printer as an IPP Everywhere printer."}

_DESCRIPTION = (
    "The body is an IPP request (RFC 8010, `application/ipp`) followed by the document, "
    "which streams on to the blob store. Authentication: HTTP Basic with the user's "
    "e-mail address and an API token as password, or a bearer access token; without them "
    "the answer is 401 with a Basic challenge. Every other outcome is an IPP response "
    "(HTTP 200) whose status-code tells it: `client-error-not-found` for a printer of "
    "another tenant, `server-error-operation-not-supported`, `client-error-bad-request` "
    "... See docs/ipp.md."
)

OPERATIONS: list[Operation] = [
    Operation(
        "POST", "/ipp/print/{printer_id}", "An IPP request to a printer", TAG,
        {200: "An IPP response (application/ipp)."}, body="application/ipp",
        errors=(401, 503), public=True, description=_DESCRIPTION,
        media_types={200: "application/ipp"},
    ),
    Operation(
        "POST", "/ipp/print/{printer_id}/{job_id}", "An IPP request to a job URI", TAG,
        {200: "An IPP response (application/ipp)."}, body="application/ipp",
        errors=(401, 503), public=True, description="The same as the printer's URI; the job is "
        "named by job-uri or job-id in the request.", media_types={200: "application/ipp"},
    ),
]  # fmt: skip
