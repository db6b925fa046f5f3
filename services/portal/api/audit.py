"""The administrators' audit page: who changed what and when, newest first, filtered by
kind of change, by what was changed or by who changed it; the same entries as JSON lines.
The API checks that the person is an administrator of the tenant again."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from services.portal.api.admin import administrator
from services.portal.api.render import page
from services.portal.api.security import HEADERS
from services.portal.api.views import _get, refused
from services.portal.upstream import ApiError
from shared.http.middleware import public

FILTERS = ("type", "subject", "actor")
QUIET_FIELDS = frozenset({"revision", "tenant_id"})
"""Fields that change with everything, left out of a change's summary."""


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """What changed, as short lines: ``created``, ``deleted`` or ``name: Lobby → Hall``."""
    if before is None and after is not None:
        return ["created"]
    if after is None:
        return ["deleted"]
    assert before is not None
    return [
        f"{k}: {_short(before.get(k))} → {_short(after.get(k))}"
        for k in sorted(set(before) | set(after))
        if k not in QUIET_FIELDS and before.get(k) != after.get(k)
    ]


def _short(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _filters(request: web.Request) -> dict[str, str]:
    return {k: request.query[k].strip() for k in FILTERS if request.query.get(k, "").strip()}


@public
async def audit(request: web.Request) -> web.Response:
    """GET /portal/admin/audit: the audit trail, a page at a time."""
    _, client = administrator(request)
    filters = _filters(request)
    before = request.query.get("before", "").strip() or None
    body = await _get(client, "/v1/audit", limit=50, before=before, **filters)
    people = (await _get(client, "/v1/users", limit=500)).get("items", [])
    names = {u["id"]: u.get("display_name") or u.get("email") or u["id"] for u in people}
    entries = [{**e, "changes": changes(e.get("before"), e.get("after"))}
               for e in body.get("items", [])]  # fmt: skip
    return await page(request, "admin/audit.html", title="Audit trail", entries=entries,
                      names=names, filters=filters,
                      next_before=body.get("next_before"))  # fmt: skip


@public
async def audit_export(request: web.Request) -> web.StreamResponse:
    """GET /portal/admin/audit.jsonl: every entry the filters select, as JSON lines."""
    _, client = administrator(request)
    try:
        upstream = await client.stream(
            "/v1/audit/export", accept="application/x-ndjson", **_filters(request)
        )
    except ApiError as exc:
        raise refused(exc) from None
    resp = web.StreamResponse(headers={
        **HEADERS, "Content-Type": "application/x-ndjson", "Cache-Control": "no-store",
        "Content-Disposition": 'attachment; filename="audit.jsonl"',
    })  # fmt: skip
    try:
        await resp.prepare(request)
        async for chunk in upstream.content.iter_chunked(65536):
            await resp.write(chunk)
    finally:
        upstream.release()
    await resp.write_eof()
    return resp
