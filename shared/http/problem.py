"""RFC 9457 problem details (``application/problem+json``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aiohttp import web

from shared.errors import DomainError, FieldError, TooManyRequests

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    code: str,
    errors: Sequence[FieldError] = (),
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, object] | None = None,
) -> web.Response:
    """A problem+json response; ``errors`` lists each offending field and the reason."""
    body: dict[str, object] = {
        "type": f"https://printcloud.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [{"field": e.field, "reason": e.reason} for e in errors]
    for name, value in (extensions or {}).items():
        body.setdefault(name, value)
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def from_domain_error(exc: DomainError, instance: str | None = None) -> web.Response:
    """The problem+json form of a domain error (401 also names the scheme, RFC 9110)."""
    headers: dict[str, str] | None = None
    if exc.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="printcloud"'}
    elif isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem_response(
        exc.status,
        exc.title,
        exc.detail,
        code=exc.code,
        errors=exc.errors,
        instance=instance,
        headers=headers,
        extensions=exc.extensions,
    )


DEPENDENCY_RETRY_AFTER_S = 1


def dependency_unavailable(dependency: str, instance: str | None = None) -> web.Response:
    """503 ``dependency-unavailable``: ``dependency`` ("the database", "the event broker")
    cannot be reached right now; the client may retry after ``Retry-After`` seconds."""
    return problem_response(
        503,
        "Dependency unavailable",
        f"{dependency} cannot be reached at the moment; retry the request shortly",
        code="dependency-unavailable",
        instance=instance,
        headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER_S)},
    )
