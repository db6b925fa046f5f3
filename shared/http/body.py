"""Parsing request input into pydantic models with field-level errors."""

from __future__ import annotations

import json
import uuid
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from shared.errors import DomainError, FieldError, NotFound, ValidationFailed

M = TypeVar("M", bound=BaseModel)


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
    raw = await request.read()
    try:
        obj = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DomainError(f"body is not valid JSON: {exc}", code="malformed-json") from None
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
