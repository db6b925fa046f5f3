"""Declared HTTP operations, from which the public API's OpenAPI document is made.

Each service's ``api`` package lists its operations as :class:`Operation` values
(method, path, the pydantic models of the body, query and answers) in
``services/<name>/api/operations.py`` (``OPERATIONS``, and ``TAGS`` describing
its tags); the document under ``docs/`` is generated from these declarations
(``printcloud openapi write|check``), the edge serves it as ``/openapi.json``,
and a test checks that every route a service serves is declared and every
declared operation is served.

Component schemas come from the models themselves (``models_json_schema`` with
``#/components/schemas/{model}`` references): a model changed in code changes
the document, and a test notices when the committed document is stale.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.http.operations import (
    Alive,
    Operation,
    Problem,
    Readiness,
)

ROOT = Path(__file__).resolve().parents[2]
REF = "#/components/schemas/{model}"
CORRELATION_HEADER = "X-Correlation-ID"
PROBLEM_CONTENT_TYPE = "application/problem+json"
JSON = "application/json"


# --------------------------------------------------------------------------- errors

_PROBLEM_EXAMPLES: dict[int, tuple[str, str, str, str]] = {
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


def _problem_kind(status: int) -> tuple[str, str, str, str]:
    """(component name, description, code, example detail) of an error status; the
    common ones are described above, any other from its HTTP reason phrase."""
    if status in _PROBLEM_EXAMPLES:
        return _PROBLEM_EXAMPLES[status]
    phrase = HTTPStatus(status).phrase
    code = phrase.lower().replace(" ", "-")
    return phrase.replace(" ", "").replace("-", ""), f"{phrase} (`{code}`).", code, phrase.lower()


def _problem_response(status: int) -> dict[str, Any]:
    _, description, code, detail = _problem_kind(status)
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


# --------------------------------------------------------------------------- common operations

COMMON_TAG = "operations"
COMMON_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/healthz",
        "Liveness",
        COMMON_TAG,
        {200: Alive},
        errors=(),
        public=True,
        operation_id="healthz",
        description=(
            "`200` whenever the process answers HTTP. It checks no dependency: use it as a "
            "liveness probe only. The edge answers it for itself; every service process "
            "answers it on its own port."
        ),
        descriptions={200: "The process is alive."},
    ),
    Operation(
        "GET",
        "/readyz",
        "Readiness of one service process (on its own port)",
        COMMON_TAG,
        {200: Readiness, 503: Readiness},
        errors=(),
        public=True,
        operation_id="readyz",
        description=(
            "`200` when this instance should receive traffic: it is not starting or shutting "
            "down, its database answers and holds exactly the migrations this version knows "
            "(none pending, none unknown), Kafka answers, and no background task (outbox relay, "
            "consumers) has crashed. `503` otherwise, with the reason under `checks`. The "
            "database and Kafka checks wait at most 2 seconds each. Served by every service "
            "process on its own port, not through the public base URL."
        ),
        descriptions={200: "Ready.", 503: "Not ready; `checks` says why."},
    ),
    Operation(
        "GET",
        "/metrics",
        "Prometheus metrics of one service process (on its own port)",
        COMMON_TAG,
        {200: "Metrics."},
        errors=(),
        public=True,
        operation_id="metrics",
        description=(
            "The process's metrics in the Prometheus text exposition format. Served by every "
            "service process on its own port, not through the public base URL."
        ),
        media_types={200: "text/plain"},
    ),
)
EDGE_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/openapi.json",
        "This document",
        COMMON_TAG,
        {200: "The OpenAPI 3.1 document of the whole public API, as JSON."},
        errors=(),
        public=True,
        operation_id="getOpenApi",
        description="Served by the edge (the public base URL); `docs/openapi.yaml` holds the same.",
        media_types={200: JSON},
    ),
)

API_DESCRIPTION = """\
Printcloud is open, self-hostable cloud printing. This is its whole public HTTP API,
as served at **one base URL**: an edge router sends each path to the service that owns
it (the registry, auth, queues, routing and the device gateway; see `docs/api.md` for
the table and `docs/architecture.md` for the services). The `printcloud` command is a
client of this API (`printcloud login`, `printcloud print`, `printcloud jobs ...`).

**Authentication.** Every `/v1` operation needs `Authorization: Bearer <token>`, except
those marked otherwise (`POST /v1/token`, whose credential is the API token in the body;
a device's registration and token requests, which it signs with its key). Exchange an API
token for a short-lived access token at `POST /v1/token` and send that. A request without
a valid token is answered `401` before anything else is looked at, including for paths
that do not exist.

**Tenants.** A caller belonging to a tenant only ever sees that tenant's data. A resource
of another tenant is answered `404`, exactly as if it did not exist; so is a path id that
is not a UUID. Platform operators act across tenants.

**Errors.** Every error is `application/problem+json` (RFC 9457) with a stable
machine-readable `code`; input errors list each offending field with the reason in
`errors`. Unknown fields in a request body are refused (`422`), as are unknown query
parameters. The edge itself answers `502` when a service cannot be reached and `503` when
it is not deployed.

**Correlation.** Send `X-Correlation-ID: <uuid>` to tie a request to your own logs;
otherwise one is generated. It is echoed on every response, written to every log line of
the request and becomes the `correlation_id` of the events the request causes. A value
that is not a UUID is replaced by a new one.

**Pagination.** Lists are keyset-paginated in `id` order (ids are random UUIDs, so this
is not creation order). A page has `items` and `next_after`; pass `next_after` as `after`
to get the next page. `next_after` is `null` on a page shorter than `limit`; a full last
page is followed by an empty one.

**Events.** Every change is also published as an event on Kafka; see `docs/events.md`
and `docs/asyncapi.yaml`.
"""

SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": (
            "An access token from `POST /v1/token` (a JWT signed by auth, see `docs/auth.md`), "
            "which every service verifies offline with the keys of `/.well-known/jwks.json`; "
            "it carries the caller's tenant, roles and scopes. Devices use the access token "
            "of `POST /v1/device-token` (role `device`)."
        ),
    },
    "operatorToken": {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "The bootstrap operator token (configured with `PRINTCLOUD_<SERVICE>_OPERATOR_TOKEN`;"
            " a local platform keeps it in `secrets.json`): a platform operator across tenants."
        ),
    },
}


# --------------------------------------------------------------------------- collection


@dataclass(frozen=True)
class ServiceApi:
    """A service's declared operations and the descriptions of its tags."""

    name: str
    operations: tuple[Operation, ...]
    tags: Mapping[str, str] = field(default_factory=dict)


def service_apis(names: Iterable[str] | None = None) -> list[ServiceApi]:
    """Every service's ``api/operations.py`` (or ``operations.py`` for a service
    without an ``api`` package); a service without one declares nothing (and the
    test of declarations fails for it if it serves routes)."""
    if names is None:
        from deploy.catalog import SERVICES

        names = list(SERVICES)
    apis = []
    for name in names:
        module = None
        for candidate in (f"services.{name}.api.operations", f"services.{name}.operations"):
            try:
                found = importlib.util.find_spec(candidate)
            except ModuleNotFoundError:  # no such package
                found = None
            if found is not None:
                module = importlib.import_module(candidate)  # its own errors surface
                break
        if module is None:
            continue
        apis.append(ServiceApi(name, tuple(module.OPERATIONS), dict(getattr(module, "TAGS", {}))))
    return apis


def _operation_id(op: Operation) -> str:
    if op.operation_id:
        return op.operation_id
    words = [w for w in re.split(r"[^A-Za-z0-9]+", op.path) if w and w != "v1"]
    return op.method.lower() + "".join(w[:1].upper() + w[1:] for w in words)


def path_parameters(path: str) -> list[str]:
    """The names of ``{...}`` segments of a path template."""
    return re.findall(r"\{(\w+)\}", path)


def _path_parameter(name: str) -> dict[str, Any]:
    thing = name.removesuffix("_id").replace("_", " ")
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"The {thing}'s id. A value that is not a UUID is answered `404`.",
        "schema": {"type": "string", "format": "uuid"},
    }


def _component(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _non_null(schema: Mapping[str, Any]) -> dict[str, Any]:
    """pydantic's ``anyOf [X, null]`` of an optional query parameter, as X."""
    branches = [b for b in schema.get("anyOf", ()) if b.get("type") != "null"]
    if len(branches) == 1:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "title")}
        return {**branches[0], **rest}
    return {k: v for k, v in schema.items() if k != "title"}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema["properties"].items():
        prop = _non_null(prop)
        if "default" in prop and prop["default"] is None:
            del prop["default"]
        description = prop.pop("description", "")
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if description:
            param["description"] = description
        param["schema"] = prop
        params.append(param)
    return params


class _Schemas:
    """Collects the models an operation set uses and makes their components."""

    def __init__(self) -> None:
        self.inputs: set[type[BaseModel]] = set()
        self.outputs: set[type[BaseModel]] = set()

    def add(self, model: type[BaseModel], mode: str) -> None:
        (self.inputs if mode == "validation" else self.outputs).add(model)

    def build(self) -> tuple[dict[tuple[type[BaseModel], str], dict[str, Any]], dict[str, Any]]:
        keys = [(m, "validation") for m in self.inputs] + [
            (m, "serialization") for m in self.outputs
        ]
        keys.sort(key=lambda k: (k[0].__module__, k[0].__qualname__, k[1]))
        refs, defs = models_json_schema(keys, ref_template=REF)  # type: ignore[arg-type]
        names: dict[str, type[BaseModel]] = {}
        for model, _ in keys:
            other = names.setdefault(model.__name__, model)
            if other is not model:
                raise ValueError(
                    f"two models are both named {model.__name__!r} ({other.__module__} and "
                    f"{model.__module__}): rename one, component names are global"
                )
        schemas = dict(sorted(defs.get("$defs", {}).items()))
        return dict(refs), schemas  # type: ignore[arg-type]


def _json_content(ref: dict[str, Any], example: Any = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": ref}
    if example is not None:
        content["example"] = example
    return {JSON: content}


def _operation(op: Operation, service: str, refs: Mapping[Any, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "tags": [op.tag],
        "operationId": _operation_id(op),
        "summary": op.summary,
    }
    if op.description:
        out["description"] = op.description.strip()
    params: list[dict[str, Any]] = [_path_parameter(n) for n in path_parameters(op.path)]
    if op.query is not None:
        params.extend(_query_parameters(op.query))
    for name, description in op.headers.items():
        params.append(
            {
                "name": name,
                "in": "header",
                "required": False,
                "description": description,
                "schema": {"type": "string"},
            }
        )
    params.append({"$ref": "#/components/parameters/CorrelationId"})
    out["parameters"] = params
    if op.public:
        out["security"] = []
    if isinstance(op.body, type):
        out["requestBody"] = {
            "required": True,
            "content": _json_content(refs[(op.body, "validation")], op.example),
        }
    elif isinstance(op.body, str):
        out["requestBody"] = {
            "required": True,
            "content": {op.body: {"schema": {"type": "string", "format": "binary"}}},
        }
    responses: dict[str, Any] = {}
    if op.websocket:
        responses["101"] = {
            "description": op.descriptions.get(101, "Switching to the websocket protocol.")
        }
    for status, answer in sorted(op.responses.items()):
        headers = {
            name: {"description": description, "schema": {"type": "string"}}
            for name, description in op.response_headers.get(status, {}).items()
        }
        headers[CORRELATION_HEADER] = {"$ref": "#/components/headers/CorrelationId"}
        if isinstance(answer, type):
            response: dict[str, Any] = {
                "description": op.descriptions.get(status) or _first_line(answer.__doc__),
                "headers": headers,
                "content": _json_content(refs[(answer, "serialization")]),
            }
        else:
            response = {"description": answer, "headers": headers}
            media = op.media_types.get(status)
            if media:
                schema: dict[str, Any] = (
                    {}
                    if media == JSON
                    else {"type": "string"}
                    if media.startswith("text/")
                    else {"type": "string", "format": "binary"}
                )
                response["content"] = {media: {"schema": schema}}
        responses[str(status)] = response
    for status in sorted({*op.errors, *ALWAYS} - set(op.responses)):
        ref: dict[str, Any] = {"$ref": f"#/components/responses/{_problem_kind(status)[0]}"}
        if status in op.descriptions:
            ref["description"] = op.descriptions[status]
        responses[str(status)] = ref
    out["responses"] = responses
    out["x-printcloud-service"] = service
    return out


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n\n")[0].replace("\n", " ") or "OK."


def _models(ops: Iterable[Operation]) -> _Schemas:
    schemas = _Schemas()
    schemas.add(Problem, "serialization")
    for op in ops:
        if isinstance(op.body, type):
            schemas.add(op.body, "validation")
        for answer in op.responses.values():
            if isinstance(answer, type):
                schemas.add(answer, "serialization")
    return schemas


def build_document(apis: Sequence[ServiceApi] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every service's declared operations."""
    from deploy.manifests.model import API_HOST

    apis = service_apis() if apis is None else apis
    common = ServiceApi("edge", COMMON_OPERATIONS + EDGE_OPERATIONS, {})
    everything = [(a.name, op) for a in [*apis, common] for op in a.operations]
    refs, components = _models(op for _, op in everything).build()

    paths: dict[str, dict[str, Any]] = {}
    seen: dict[tuple[str, str], str] = {}
    for service, op in everything:
        key = (op.method.upper(), op.path)
        if key in seen:
            raise ValueError(f"{key[0]} {key[1]} is declared by both {seen[key]} and {service}")
        seen[key] = service
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, service, refs)
    ordered = {
        p: dict(sorted(m.items(), key=lambda kv: _METHOD_ORDER.index(kv[0])))
        for p, m in sorted(paths.items(), key=lambda kv: _path_order(kv[0]))
    }

    tags: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    for api in [*apis, common]:
        names = list(dict.fromkeys(op.tag for op in api.operations))
        for name in names:
            if any(t["name"] == name for t in tags):
                continue
            tag: dict[str, Any] = {"name": name}
            description = api.tags.get(name) or (
                "Health, readiness and metrics for the platform operator, and this document "
                "(no token)."
                if name == COMMON_TAG
                else ""
            )
            if description:
                tag["description"] = description
            tags.append(tag)
        groups.append({"name": api.name, "tags": names})

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Printcloud API",
            "version": "1.0.0",
            "summary": "Printers, users, print jobs and devices behind one base URL.",
            "description": API_DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [
            {
                "url": "http://127.0.0.1:8080",
                "description": "The edge of a local platform (`printcloud platform`).",
            },
            {
                "url": f"https://{API_HOST}",
                "description": "A Kubernetes deployment (the host of its API Ingress).",
            },
        ],
        "security": [{"bearerAuth": []}, {"operatorToken": []}],
        "tags": tags,
        "x-tagGroups": groups,
        "paths": ordered,
        "components": {
            "securitySchemes": SECURITY_SCHEMES,
            "parameters": {
                "CorrelationId": {
                    "name": CORRELATION_HEADER,
                    "in": "header",
                    "required": False,
                    "description": (
                        "A UUID that ties this request to the caller's logs; generated when "
                        "absent or not a UUID."
                    ),
                    "schema": {"type": "string", "format": "uuid"},
                }
            },
            "headers": {
                "CorrelationId": {
                    "description": (
                        "The request's correlation id (the one sent, or the one generated)."
                    ),
                    "schema": {"type": "string", "format": "uuid"},
                }
            },
            "responses": {
                _problem_kind(s)[0]: _problem_response(s)
                for s in sorted(
                    {*_PROBLEM_EXAMPLES, *(e for _, op in everything for e in op.errors)}
                )
            },
            "schemas": components,
        },
    }


_METHOD_ORDER = ["post", "get", "put", "patch", "delete", "head", "options", "trace"]


def _path_order(path: str) -> tuple[int, str]:
    return (1 if not path.startswith("/v1/") else 0, path)


def document_json() -> bytes:
    """The document as compact JSON: what the edge serves at ``/openapi.json``."""
    return json.dumps(build_document(), indent=None).encode()
