"""The queues' public HTTP operations; ``docs/openapi.yaml`` is generated from them."""

from __future__ import annotations

from services.queues.api.shapes import (
    DeviceJobs,
    DeviceScans,
    DeviceVirtualPrinters,
    DocumentOut,
    JobOut,
    JobPage,
    Released,
    ReservationItem,
    ReservationOut,
    ReservationPage,
    ScanOut,
    Sessions,
)
from services.queues.domain.commands import (
    CreateReservation,
    JobFilter,
    ReleaseJobs,
    RequestScan,
    ReservationFilter,
    SubmitJob,
)
from shared.http.operations import Operation

BODY_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)
READ_ERRORS = (401, 403, 404)
_JOB_404 = "No such job for this caller (another tenant's or another user's job answers alike)."
_IDEMPOTENCY = {
    "Idempotency-Key": "Optional, 1-255 visible ASCII characters, unique per request: a "
    "retry with the same key (same caller, same request) within 24 h (by default) "
    "creates nothing and "
    "answers the first request's result again with `Idempotent-Replayed: true`."
}
_REPLAYED = "`true` when this answers an earlier request with the same Idempotency-Key."
_TOO_MANY_STREAMS = (
    "The credential holds `max_streams_per_credential` streams already (`too-many-streams`, "
    "with `Retry-After`); the edge also caps the streams of one client address."
)
_SSE = "A `text/event-stream`: `event: job.state` frames whose `id` resumes with Last-Event-ID."

OPERATIONS: list[Operation] = [
    Operation(
        "POST",
        "/v1/documents",
        "Upload a document (streamed)",
        "jobs",
        {201: DocumentOut},
        body="*/*",
        errors=(400, 401, 403, 413, 415, 422, 503),
        operation_id="uploadDocument",
        description="The raw body is the document and its Content-Type its format. Query: "
        "`title`, `keep` (true: kept for reservation printing), `priority`, `pages`, `sha256`. "
        "The sha256 may also be announced as `Digest: sha-256=<base64>` or `X-Content-SHA256`; "
        "a mismatch is refused (422 `digest-mismatch`) and nothing is kept. The server checks "
        "the content against the format (PDF with a PDF parser; PostScript, PWG raster, URF, "
        "JPEG, PNG and UTF-8 text by their structure), counts the pages itself (`pages`, if "
        "sent, must agree) and types `application/octet-stream` from the content. A "
        "`Content-Encoding` of `gzip` or `deflate` is decoded (the size limit counts the "
        "decoded bytes); any other is refused. Each tenant holds at most its storage quota "
        "of documents.",
        headers={
            "Digest": "sha-256=<base64> of the body",
            "X-Content-SHA256": "hex sha256",
            **_IDEMPOTENCY,
        },
        descriptions={
            400: "Malformed input, such as an Idempotency-Key that is not 1-255 visible "
            "ASCII characters (`invalid-idempotency-key`).",
            413: "Larger than the configured limit (`payload-too-large`), or than the "
            "tenant's storage quota left (`storage-quota-exceeded`).",
            415: "A format the platform does not print, octet-stream content of no known "
            "format (`document-format-not-supported`), or a `Content-Encoding` other than "
            "gzip, deflate or identity (`content-encoding-not-supported`).",
            422: "The digest does not match (`digest-mismatch`); the document is empty, "
            "truncated, unreadable or not its declared format (`document-invalid`, field "
            "`document`); `pages` disagrees with the document (field `pages`); or the "
            "Idempotency-Key was used for a different request (`idempotency-key-reused`).",
        },
        response_headers={
            201: {"Location": "The document's URL.", "Idempotent-Replayed": _REPLAYED}
        },
    ),
    Operation(
        "POST",
        "/v1/jobs",
        "Submit a print job",
        "jobs",
        {201: JobOut},
        body=SubmitJob,
        errors=BODY_ERRORS,
        operation_id="submitJob",
        description="JSON naming a stored document, or multipart/form-data with a `job` JSON "
        "part then a `document` file part (one-shot, streamed). Settings are checked against "
        "the printer's capabilities (a virtual printer's: every member's); a refusal is 422 "
        "`settings-not-supported` with `invalid_settings` listing each setting, its value and "
        "the allowed values. Publishes `job.submitted`. With an `Idempotency-Key`, a retry "
        "answers the job the first request created, as it is now, and submits nothing.",
        headers=_IDEMPOTENCY,
        descriptions={
            400: "Malformed input, such as an Idempotency-Key that is not 1-255 visible "
            "ASCII characters (`invalid-idempotency-key`).",
            409: "The target has not reported capabilities (`printer-not-ready`).",
            413: "The one-shot document is larger than the limit or the tenant's storage "
            "quota left (`payload-too-large`, `storage-quota-exceeded`).",
            415: "The document's format or encoding is not accepted (see uploadDocument).",
            422: "Invalid input or settings the target cannot print "
            "(`settings-not-supported`); a one-shot document that is not what it says "
            "(`document-invalid`); `pages` that disagree with the document's own count; or "
            "the Idempotency-Key was used for a different request (`idempotency-key-reused`).",
        },
        response_headers={201: {"Location": "The job's URL.", "Idempotent-Replayed": _REPLAYED}},
    ),
    Operation(
        "GET",
        "/v1/jobs",
        "List jobs",
        "jobs",
        {200: JobPage},
        query=JobFilter,
        errors=(401, 403, 422),
        operation_id="listJobs",
        description="The caller's jobs; a tenant admin sees the tenant's unless `owner=me`.",
    ),
    Operation(
        "GET",
        "/v1/jobs/events",
        "Stream the caller's jobs' state changes",
        "jobs",
        {200: _SSE},
        errors=(401, 403, 422, 429),
        operation_id="streamMyJobEvents",
        media_types={200: "text/event-stream"},
        descriptions={429: _TOO_MANY_STREAMS},
        headers={"Last-Event-ID": "Resume after this event id."},
    ),
    Operation(
        "GET",
        "/v1/jobs/{job_id}",
        "Read a job",
        "jobs",
        {200: JobOut},
        errors=READ_ERRORS,
        operation_id="getJob",
        descriptions={404: _JOB_404},
    ),
    Operation(
        "POST",
        "/v1/jobs/{job_id}/cancel",
        "Cancel a job",
        "jobs",
        {200: JobOut},
        errors=(401, 403, 404, 409),
        operation_id="cancelJob",
        description="Any time before it completes; a printer that has it is told to drop it.",
        descriptions={409: "The job is already final (`invalid-transition`).", 404: _JOB_404},
    ),
    Operation(
        "GET",
        "/v1/jobs/{job_id}/events",
        "Stream a job's state changes",
        "jobs",
        {200: _SSE},
        errors=(*READ_ERRORS, 429),
        operation_id="streamJobEvents",
        media_types={200: "text/event-stream"},
        descriptions={429: _TOO_MANY_STREAMS},
        description="From the first state (or after Last-Event-ID); ends at a final state.",
        headers={"Last-Event-ID": "Resume after this event id."},
    ),
    Operation(
        "POST",
        "/v1/printers/{printer_id}/release",
        "Release held pull-print jobs here",
        "jobs",
        {200: Released},
        body=ReleaseJobs,
        errors=BODY_ERRORS,
        operation_id="releaseJobs",
        description="Moves the caller's held jobs of virtual printers that have this printer "
        "as a member into its queue (`job.moved` + `job.queued` each), all or none.",
        descriptions={
            409: "A job cannot be released here (`release-conflict`, naming it); a job held "
            "by a quota is released only when the quota allows it or an administrator "
            "overrides the quota."
        },
    ),
    Operation(
        "POST",
        "/v1/reservations",
        "Queue kept documents at a printer",
        "jobs",
        {201: ReservationOut},
        body=CreateReservation,
        errors=BODY_ERRORS,
        operation_id="createReservation",
        description="Highest priority first, oldest first on ties, within `max_count` and "
        "`max_pages` (pages as the server counted them); jobs not printed by `deadline` "
        "expire. The jobs are submitted `pending` and go through routing like every job "
        "(quotas, the printer's offline policy and failover) before they are queued.",
    ),
    Operation(
        "GET",
        "/v1/reservations",
        "List reservations",
        "jobs",
        {200: ReservationPage},
        query=ReservationFilter,
        errors=(401, 403, 422),
        operation_id="listReservations",
        description="The caller's reservations (a tenant administrator's: the tenant's, "
        "unless `owner=me`), in id order, each with its jobs in print order; narrowed by "
        "`printer_id`; `next_after` pages on. Another tenant's are never listed.",
    ),
    Operation(
        "DELETE",
        "/v1/reservations/{reservation_id}",
        "Cancel a reservation",
        "jobs",
        {200: ReservationItem},
        errors=READ_ERRORS,
        operation_id="cancelReservation",
        description="Cancels the reservation and, in the same transaction, every job of it "
        "not final yet (`job.canceled` each; a printer holding one is told to drop it). "
        "Cancelling it again changes nothing. Another tenant's or another user's "
        "reservation answers 404 like one that does not exist (administrators may cancel "
        "their tenant's).",
    ),
    Operation(
        "GET",
        "/v1/devices/me/jobs",
        "The device's printer queue",
        "devices",
        {200: DeviceJobs},
        errors=(401, 403),
        operation_id="listDeviceJobs",
        description="Device token only. Queued, sent and printing jobs of the printers the "
        "device answers for, in print order; `fetchable` is false for a secure job whose "
        "owner has not logged in at the printer.",
    ),
    Operation(
        "GET",
        "/v1/devices/me/jobs/{job_id}/document",
        "Download a job's document",
        "devices",
        {200: "The document.", 206: "The requested byte range."},
        errors=(401, 403, 404, 410, 416),
        operation_id="downloadJobDocument",
        description="Device token only; resumable with `Range`. The first download marks the "
        "job sent (`job.sent`). ETag is the sha256.",
        headers={"Range": "bytes=<first>-[<last>]", "If-Range": "The ETag of a partial copy."},
        descriptions={403: "A secure job whose owner has not logged in (`release-required`)."},
    ),
    Operation(
        "GET",
        "/v1/devices/me/sessions",
        "Users logged in at the device's printers",
        "devices",
        {200: Sessions},
        errors=(401, 403),
        operation_id="listDeviceSessions",
    ),
    Operation(
        "GET",
        "/v1/devices/me/virtual-printers",
        "Virtual printers the device's printers are members of",
        "devices",
        {200: DeviceVirtualPrinters},
        errors=(401, 403),
        operation_id="listDeviceVirtualPrinters",
        description="Device token only. What an agent announces over DNS-SD beside its "
        "printers (`agent run --advertise`): each virtual printer's name, members and what "
        "every member that has reported capabilities supports.",
    ),
    Operation(
        "POST",
        "/v1/scans",
        "Ask a printer for a scanned page, encrypted to the phone's ephemeral key",
        "jobs",
        {201: ScanOut},
        body=RequestScan,
        errors=BODY_ERRORS,
        operation_id="requestScan",
        description="The phone makes an X25519 key pair in memory and sends its public "
        "half; the printer scans a page, encrypts it to that key "
        "(`application/vnd.printcloud.e2e`, see docs/e2e.md) and uploads it. The cloud "
        "stores only ciphertext; `GET /v1/scans/{scan_id}/document` gives it to the phone.",
        descriptions={404: "No such printer of the caller's tenant."},
        response_headers={201: {"Location": "The scan."}},
        example={
            "printer_id": "0b9c3f1e-3a4d-4f5e-8a6b-7c8d9e0f1a2b",
            "key_id": "5b0c7e52-0f5c-4d8a-9d55-0f0e7e0c1a2b",
            "public_key": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo",
        },
    ),
    Operation(
        "GET",
        "/v1/scans/{scan_id}",
        "The caller's scan: requested, or delivered with its encrypted page",
        "jobs",
        {200: ScanOut},
        errors=READ_ERRORS,
        operation_id="getScan",
        descriptions={404: "No such scan of the caller's (`scan-not-found`)."},
    ),
    Operation(
        "GET",
        "/v1/scans/{scan_id}/document",
        "The scan's encrypted page (only the phone's key opens it)",
        "jobs",
        {200: "The ciphertext."},
        errors=READ_ERRORS,
        operation_id="getScanDocument",
        media_types={200: "application/vnd.printcloud.e2e"},
        descriptions={
            404: "No such scan of the caller's (`scan-not-found`), or no page "
            "stored yet (`blob-missing`)."
        },
    ),
    Operation(
        "GET",
        "/v1/devices/me/scans",
        "Scans waiting at the device's printers",
        "devices",
        {200: DeviceScans},
        errors=(401, 403),
        operation_id="listDeviceScans",
        description="Device token only. Each names the phone's ephemeral key to encrypt "
        "the page to.",
    ),
    Operation(
        "PUT",
        "/v1/devices/me/scans/{scan_id}/document",
        "Deliver a scan's page, encrypted to the phone's key (device token)",
        "devices",
        {200: ScanOut},
        body="application/vnd.printcloud.e2e",
        errors=BODY_ERRORS,
        operation_id="deliverScan",
        description="The body is the page encrypted to the scan's key; `?pages=N` declares "
        "its pages (the cloud cannot count them). Checked by structure only, kept as a "
        "document of the person who asked.",
        descriptions={
            404: "No such scan at the device's printers (`scan-not-found`).",
            409: "The scan was delivered already (`scan-delivered`).",
            422: "Not a protected document, or no page count.",
        },
    ),
]
