"""The catalogue of error answers (problem+json, RFC 9457) of the public API: each
common status's component name, description, code and example, and the response
object the document references for it."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from deploy.apidocs.schemas import REF

CORRELATION_HEADER = "X-Correlation-ID"
PROBLEM_CONTENT_TYPE = "application/problem+json"


PROBLEM_EXAMPLES: dict[int, tuple[str, str, str, str]] = {
    # status: (component name, description, code, detail of the example)
    400: (
        "MalformedJson",
        "The body is not valid JSON (`malformed-json`).",
        "malformed-json",
        "body is not valid JSON: Expecting value: line 1 column 1 (char 0)",
    ),
    401: (
        "Unauthenticated",
        "No bearer token, or one that is not accepted (`unauthenticated`).",
        "unauthenticated",
        "send 'Authorization: Bearer <token>'",
    ),
    403: (
        "Forbidden",
        "The caller is authenticated but its role or scopes do not allow this (`forbidden`).",
        "forbidden",
        "requires one of the roles ['admin']",
    ),
    404: (
        "NotFound",
        "The resource does not exist for this caller.",
        "not-found",
        "no such resource",
    ),
    409: (
        "Conflict",
        "The request contradicts the current state.",
        "conflict",
        "the request contradicts the current state",
    ),
    410: ("Gone", "The resource can no longer be used.", "gone", "no longer usable"),
    413: (
        "PayloadTooLarge",
        "The body is larger than the operation accepts (`request-entity-too-large`).",
        "request-entity-too-large",
        "Maximum request body size 1048576 exceeded.",
    ),
    415: (
        "UnsupportedMediaType",
        "The body is not sent in a media type the operation accepts (`unsupported-media-type`).",
        "unsupported-media-type",
        "send the body as application/json",
    ),
    422: (
        "ValidationFailed",
        "The input does not match the schema (`validation-failed`); `errors` names each field.",
        "validation-failed",
        "the body does not match the schema",
    ),
    429: (
        "TooManyRequests",
        "A limit was reached (`too-many-requests`); `Retry-After` says when to retry.",
        "too-many-requests",
        "too many attempts; retry later",
    ),
    500: (
        "InternalError",
        "The server failed (`internal-error`). Nothing about the failure is "
        "disclosed; the correlation id finds it in the service's logs.",
        "internal-error",
        "the server failed; the correlation id identifies this request in the logs",
    ),
    502: (
        "BadGateway",
        "The edge could not reach the service (`upstream-unreachable`).",
        "upstream-unreachable",
        "the queues service cannot be reached",
    ),
    503: (
        "ServiceUnavailable",
        "The service is not part of this deployment or cannot take "
        "the request now (`service-unavailable`).",
        "service-unavailable",
        "the queues service is not part of this deployment",
    ),
}
ALWAYS = (500,)


def problem_kind(status: int) -> tuple[str, str, str, str]:
    """(component name, description, code, example detail) of an error status; the
    common ones are described above, any other from its HTTP reason phrase."""
    if status in PROBLEM_EXAMPLES:
        return PROBLEM_EXAMPLES[status]
    phrase = HTTPStatus(status).phrase
    code = phrase.lower().replace(" ", "-")
    return phrase.replace(" ", "").replace("-", ""), f"{phrase} (`{code}`).", code, phrase.lower()


def problem_response(status: int) -> dict[str, Any]:
    _, description, code, detail = problem_kind(status)
    example: dict[str, Any] = {
        "type": f"https://printcloud.dev/problems/{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": "/v1/printers",
    }
    if status == 422:
        example["errors"] = [
            {"field": "region", "reason": "String should match pattern '^[a-z0-9]+(-[a-z0-9]+)*$'"}
        ]
    response: dict[str, Any] = {
        "description": description,
        "headers": {CORRELATION_HEADER: {"$ref": "#/components/headers/CorrelationId"}},
        "content": {
            PROBLEM_CONTENT_TYPE: {
                "schema": {"$ref": REF.format(model="Problem")},
                "example": example,
            }
        },
    }
    if status == 429:
        response["headers"]["Retry-After"] = {
            "description": "Seconds to wait before trying again.",
            "schema": {"type": "integer"},
        }
    if status == 401:
        response["headers"]["WWW-Authenticate"] = {
            "description": "The scheme to use: `Bearer`.",
            "schema": {"type": "string"},
        }
    return response
