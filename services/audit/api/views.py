"""Thin HTTP views of the audit trail: parse, authorise, call a handler, answer."""

from __future__ import annotations

from aiohttp import web

from services.audit.api.context import CONTEXT, READ, transactions
from services.audit.api.shapes import json_lines, page
from services.audit.domain.commands import AuditFilter, AuditListing
from services.audit.handlers import entries
from shared.http.body import query_model
from shared.http.middleware import caller

NDJSON = "application/x-ndjson"


async def list_entries(request: web.Request) -> web.Response:
    """GET /v1/audit (the tenant's administrators)."""
    who = caller(request, READ, "admin")
    q = query_model(request, AuditListing)
    found = await entries.list_entries(transactions(request), who, q, q.before, q.limit)
    return web.json_response(page(found, q.limit))


async def export_entries(request: web.Request) -> web.StreamResponse:
    """GET /v1/audit/export: every matching entry, oldest first, as JSON lines, streamed."""
    who = caller(request, READ, "admin")
    q = query_model(request, AuditFilter)
    batch = CONTEXT.settings(request).export_batch
    batches = entries.export_entries(transactions(request), who, q, batch)
    response = web.StreamResponse(
        headers={
            "Content-Type": NDJSON,
            "Content-Disposition": 'attachment; filename="audit.jsonl"',
            "Cache-Control": "no-store",
        }
    )
    response.enable_chunked_encoding()
    await response.prepare(request)
    async for found in batches:
        await response.write(json_lines(found))
    await response.write_eof()
    return response
