"""Declared HTTP operations, from which the public API's OpenAPI document is made.

Each service's ``api`` package lists its operations as :class:`Operation` values
(method, path, the pydantic models of the body, query and answers); the
document under ``docs/`` is generated from these declarations, and a test checks
that every route a service serves is declared and every declared operation is
served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel


@dataclass(frozen=True)
class Operation:
    """One HTTP operation of the public API.

    ``responses`` maps a status to the model of its JSON body, or to a plain
    description when the body is not JSON (a document, an event stream) or empty.
    ``body`` is a model for a JSON body, or a media-type pattern (``"*/*"``) for a
    raw upload. Problem+json answers (400, 401, 403, 404, 409, 413, 415, 422, 429)
    are added by the generator from ``errors``.
    """

    method: str
    path: str
    summary: str
    tag: str
    responses: Mapping[int, type[BaseModel] | str]
    body: type[BaseModel] | str | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = (400, 401, 403, 404, 422)
    public: bool = False
    description: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Request headers the operation reads: name -> description."""
