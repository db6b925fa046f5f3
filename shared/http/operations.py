"""What a service declares about its HTTP operations, and the models of the answers
every service gives (problem+json, liveness, readiness).

Each service's ``api`` package lists its operations as :class:`Operation` values
(method, path, the pydantic models of the body, query and answers) in
``services/<name>/api/operations.py`` (``OPERATIONS``, and ``TAGS`` describing its
tags). The OpenAPI document of the whole platform is assembled from them above the
services (:mod:`deploy.apidocs.openapi`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
    operation_id: str = ""
    """Stable name of the operation; default: derived from method and path."""
    descriptions: Mapping[int, str] = field(default_factory=dict)
    """Per status: what this answer means here (errors: the codes it carries)."""
    media_types: Mapping[int, str] = field(default_factory=dict)
    """Per status whose answer is not JSON: its media type (``text/event-stream``); for a
    model answer, another format it may also come in (``text/csv``)."""
    response_headers: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    """Per status: headers of the answer, name -> description (``Location`` ...)."""
    example: Any = None
    """An example request body."""
    websocket: bool = False
    """A ``GET`` that upgrades to a websocket (``101``)."""


class ProblemField(BaseModel):
    """One offending input field."""

    field: str = Field(
        description="Dotted path of the field (`(body)` when the body as a whole is wrong)."
    )
    reason: str = Field(description="Why it was refused.")


class Problem(BaseModel):
    """RFC 9457 problem details: the body of every error answer."""

    model_config = ConfigDict(title="Problem")
    type: str = Field(
        json_schema_extra={"format": "uri"}, description="`https://printcloud.dev/problems/<code>`."
    )
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong with this request, for people.")
    code: str = Field(
        description="Stable machine-readable code, e.g. `validation-failed`, `duplicate-name`."
    )
    instance: str = Field(default="", description="The request path.")
    errors: list[ProblemField] = Field(
        default_factory=list,
        description="Each offending input field and why it was refused (only when there are any).",
    )


class Alive(BaseModel):
    """Liveness."""

    status: str = Field(json_schema_extra={"const": "alive"})


class ReadinessChecks(BaseModel):
    """Each check is `ok` or the reason it is not. `accepting` is not `ok` while the
    instance starts or shuts down; `migrations` is absent when the database cannot be
    reached; `tasks` is present only when a background task has crashed."""

    model_config = ConfigDict(extra="allow")
    accepting: str
    database: str | None = None
    migrations: str | None = None
    kafka: str | None = None
    tasks: str | None = None


class Readiness(BaseModel):
    """Whether this instance should receive traffic, and why not."""

    status: str = Field(json_schema_extra={"enum": ["ready", "not ready"]})
    checks: ReadinessChecks
