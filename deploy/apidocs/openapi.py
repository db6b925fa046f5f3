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

The error catalogue is :mod:`deploy.apidocs.problems`, the component schemas
:mod:`deploy.apidocs.schemas`, the operations and descriptions the whole API
shares :mod:`deploy.apidocs.common`; this module collects each service's
declarations and assembles the document.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.apidocs.common import (
    API_DESCRIPTION,
    COMMON_OPERATIONS,
    COMMON_TAG,
    EDGE_OPERATIONS,
    SECURITY_SCHEMES,
)
from deploy.apidocs.problems import (
    ALWAYS,
    CORRELATION_HEADER,
    PROBLEM_EXAMPLES,
    problem_kind,
    problem_response,
)
from deploy.apidocs.schemas import JSON, models, query_parameters
from shared.http.operations import (
    Operation,
)

ROOT = Path(__file__).resolve().parents[2]


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
        params.extend(query_parameters(op.query))
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
            also = op.media_types.get(status)
            if also and also != JSON:  # the same answer in another format (format=csv)
                response["content"][also] = {"schema": {"type": "string"}}
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
        ref: dict[str, Any] = {"$ref": f"#/components/responses/{problem_kind(status)[0]}"}
        if status in op.descriptions:
            ref["description"] = op.descriptions[status]
        responses[str(status)] = ref
    out["responses"] = responses
    out["x-printcloud-service"] = service
    return out


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n\n")[0].replace("\n", " ") or "OK."


def build_document(apis: Sequence[ServiceApi] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every service's declared operations."""
    from deploy.manifests.model import API_HOST

    apis = service_apis() if apis is None else apis
    common = ServiceApi("edge", COMMON_OPERATIONS + EDGE_OPERATIONS, {})
    everything = [(a.name, op) for a in [*apis, common] for op in a.operations]
    refs, components = models(op for _, op in everything).build()

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
                problem_kind(s)[0]: problem_response(s)
                for s in sorted(
                    {*PROBLEM_EXAMPLES, *(e for _, op in everything for e in op.errors)}
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
