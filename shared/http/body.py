"""Parsing request input into pydantic models with field-level errors."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from shared.errors import DomainError, FieldError, NotFound, ValidationFailed

M = TypeVar("M", bound=BaseModel)

MAX_JSON_DEPTH = 64
"""No request body of the API nests deeper; deeper ones are refused before parsing."""

_STRUCTURE = re.compile(rb'[\[\]{}"\\]')


def too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text ``raw`` nests arrays/objects deeper than ``limit``: one linear
    scan over its structural characters (strings and their escapes skipped), so a body
    built to exhaust the parser's recursion is refused before it is parsed."""
    depth = 0
    in_string = False
    skip_until = -1
    for match in _STRUCTURE.finditer(raw):
        at = match.start()
        if at < skip_until:
            continue
        char = match.group()
        if in_string:
            if char == b"\\":
                skip_until = at + 2
            elif char == b'"':
                in_string = False
        elif char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


def load_json(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``raw`` parsed as JSON; a problem+json 400 (``malformed-json``) when it is not JSON
    or nests deeper than ``max_depth``. Never a RecursionError."""
    if too_deep(raw, max_depth):
        raise DomainError(f"body nests deeper than {max_depth} levels", code="malformed-json")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DomainError(f"body is not valid JSON: {exc}", code="malformed-json") from None
    except RecursionError:
        raise DomainError("body nests too deeply", code="malformed-json") from None


def field_errors(exc: ValidationError) -> list[FieldError]:
    """pydantic's errors as (dotted field, reason) pairs."""
    return [
        FieldError(".".join(str(p) for p in err["loc"]) or "(body)", err["msg"])
        for err in exc.errors()
    ]


async def parse_json(request: web.Request, model: type[M]) -> M:
    """The request body as ``model``; problem+json 400/415/422 otherwise.

    Bodies over the app's ``client_max_size`` (1 MiB) are refused by aiohttp with 413.
    """
    if request.content_type != "application/json":
        raise DomainError(
            "send the body as application/json",
            code="unsupported-media-type",
            status=415,
            title="Unsupported media type",
        )
    obj = load_json(await request.read())
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise ValidationFailed("the body does not match the schema", field_errors(exc)) from None


def path_uuid(request: web.Request, name: str) -> uuid.UUID:
    """A UUID path parameter; a malformed one is simply not found."""
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise NotFound(f"no such {name.removesuffix('_id')}") from None


def query_model(request: web.Request, model: type[M]) -> M:
    """Query parameters as ``model``, with field errors on failure."""
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise ValidationFailed("invalid query parameters", field_errors(exc)) from None
