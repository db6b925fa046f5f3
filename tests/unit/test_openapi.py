"""docs/openapi.yaml is a valid OpenAPI 3.1 document and describes the registry and
auth as built (auth's operations carry the tag ``auth``).

No network and no database: the services' aiohttp apps are built but never started
(``create_app`` connects only on startup), and only their routers are inspected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from openapi_spec_validator.readers import read_from_filename
from pydantic import BaseModel

from services.auth.api.shapes import UserPage
from services.auth.app import SPEC as AUTH
from services.auth.domain.commands import CreateApiToken, CreateUser, TokenRequest, UpdateUser
from services.auth.settings import AuthSettings
from services.registry.api.views import Page, PrinterPage
from services.registry.app import SPEC
from services.registry.domain.commands import (
    ClaimDevice,
    CreateTenant,
    CreateVirtualPrinter,
    IssueCommand,
    RegisterPrinter,
    RelaySheet,
    StartRegistration,
    UpdatePrinter,
    UpdateVirtualPrinter,
)
from services.registry.settings import RegistrySettings
from shared.errors import FieldError
from shared.http.middleware import PUBLIC_PATHS
from shared.http.problem import PROBLEM_CONTENT_TYPE, problem_response
from shared.service import create_app

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Operations whose request body is exactly one command model.
BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/v1/tenants"): CreateTenant,
    ("POST", "/v1/printers"): RegisterPrinter,
    ("PATCH", "/v1/printers/{printer_id}"): UpdatePrinter,
    ("POST", "/v1/virtual-printers"): CreateVirtualPrinter,
    ("PATCH", "/v1/virtual-printers/{virtual_printer_id}"): UpdateVirtualPrinter,
    ("POST", "/v1/registrations"): StartRegistration,
    ("POST", "/v1/registrations/claim"): ClaimDevice,
    ("POST", "/v1/registrations/relay"): RelaySheet,
    ("POST", "/v1/devices/{device_id}/commands"): IssueCommand,
    ("POST", "/v1/token"): TokenRequest,
    ("POST", "/v1/users"): CreateUser,
    ("PATCH", "/v1/users/{user_id}"): UpdateUser,
    ("POST", "/v1/users/{user_id}/api-tokens"): CreateApiToken,
}
LISTS = (
    ("GET", "/v1/tenants"),
    ("GET", "/v1/printers"),
    ("GET", "/v1/virtual-printers"),
    ("GET", "/v1/users"),
)
CONSTRAINTS = ("minLength", "maxLength", "pattern", "format", "minimum", "maximum", "default")


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    spec, _ = read_from_filename(str(DOC_PATH))
    return dict(spec)


def registry_app() -> web.Application:
    """The registry's app, built exactly as the service builds it (not started)."""
    return create_app(SPEC, RegistrySettings(database_url="postgresql://x:y@127.0.0.1:1/db"))


def auth_app() -> web.Application:
    """The auth service's app, built exactly as the service builds it (not started)."""
    return create_app(AUTH, AuthSettings(database_url="postgresql://x:y@127.0.0.1:1/db"))


def auth_documented(doc: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of the operations tagged ``auth``."""
    return {(m, p) for m, p, op in _operations(doc) if "auth" in op.get("tags", ())}


def _normalise(path: str) -> str:
    """``/a/{id:[0-9]+}`` -> ``/a/{id}``: OpenAPI templates carry no regex."""
    return re.sub(r"\{(\w+)(?::[^{}]*)?\}", r"{\1}", path)


def router_operations(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path) of every route; HEAD is implied by GET and not documented."""
    ops = set()
    for route in app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        ops.add((route.method, _normalise(route.resource.canonical)))
    return ops


def doc_operations(doc: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation in the document."""
    return {
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def _operations(doc: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, op


def _resolve(doc: Mapping[str, Any], node: Any) -> Any:
    """Follow local ``$ref``s (siblings such as ``description`` are kept)."""
    while isinstance(node, Mapping) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _non_null(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The constraints of a schema, with pydantic's ``anyOf [X, null]`` unwrapped."""
    for branch in schema.get("anyOf", ()):
        if branch.get("type") != "null":
            return {**branch, **{k: v for k, v in schema.items() if k != "anyOf"}}
    return dict(schema)


# --------------------------------------------------------------------------- the document


def test_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    assert str(doc["openapi"]).startswith("3.1")
    validate(doc, cls=OpenAPIV31SpecValidator)


def test_operations_are_exactly_the_registry_routes(doc: dict[str, Any]) -> None:
    routes = router_operations(registry_app())
    documented = doc_operations(doc) - auth_documented(doc)
    assert routes - documented == set(), f"routes without documentation: {routes - documented}"
    assert documented - routes == set(), f"documented but not served: {documented - routes}"


def test_operations_tagged_auth_are_exactly_the_auth_routes(doc: dict[str, Any]) -> None:
    common = {("GET", path) for path in PUBLIC_PATHS}
    routes = router_operations(auth_app()) - common
    documented = auth_documented(doc)
    assert routes - documented == set(), f"routes without documentation: {routes - documented}"
    assert documented - routes == set(), f"documented but not served: {documented - routes}"
    assert common <= router_operations(auth_app()), "auth serves health and metrics too"


def test_an_undocumented_route_is_noticed(doc: dict[str, Any]) -> None:
    async def handler(_: web.Request) -> web.Response:
        return web.Response()

    app = registry_app()
    app.router.add_delete("/v1/printers/{printer_id:[0-9a-f-]+}", handler)
    app.router.add_get("/v1/printers/{printer_id}/jobs", handler)
    missing = router_operations(app) - doc_operations(doc)
    assert missing == {
        ("DELETE", "/v1/printers/{printer_id}"),
        ("GET", "/v1/printers/{printer_id}/jobs"),
    }


# --------------------------------------------------------------------------- security


def public_operations(app: web.Application) -> set[tuple[str, str]]:
    """Routes whose view is marked public (the device proves itself another way)."""
    return {
        (route.method, _normalise(route.resource.canonical))
        for route in app.router.routes()
        if route.resource is not None and getattr(route.handler, "__printcloud_public__", False)
    }


def test_every_v1_operation_requires_the_bearer_token(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    public = public_operations(registry_app()) | public_operations(auth_app())
    for method, path, op in _operations(doc):
        effective = op.get("security", doc.get("security", []))
        if path in PUBLIC_PATHS or (method, path) in public:
            assert effective == [], f"{method} {path} needs no token"
        else:
            assert path.startswith("/v1/"), path
            assert {"bearerAuth": []} in effective, f"{method} {path} must require bearerAuth"
            assert "401" in op["responses"], f"{method} {path} must document 401"


# --------------------------------------------------------------------------- errors


def test_every_error_is_problem_json(doc: dict[str, Any]) -> None:
    for method, path, op in _operations(doc):
        for status, response in op["responses"].items():
            if not 400 <= int(status) < 600 or path == "/readyz":
                continue
            content = _resolve(doc, response)["content"]
            assert list(content) == [PROBLEM_CONTENT_TYPE], f"{method} {path} {status}"
            schema = content[PROBLEM_CONTENT_TYPE]["schema"]
            assert schema == {"$ref": "#/components/schemas/Problem"}, f"{method} {path} {status}"


def test_problem_schema_matches_what_the_server_sends(doc: dict[str, Any]) -> None:
    response = problem_response(
        422, "t", "d", code="validation-failed", errors=[FieldError("f", "r")], instance="/x"
    )
    assert response.body is not None
    body = json.loads(response.body)  # type: ignore[arg-type]
    problem = doc["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) == set(body)
    assert set(problem["required"]) == set(body) - {"instance", "errors"}
    assert set(problem["properties"]["errors"]["items"]["properties"]) == set(body["errors"][0])


def test_bodies_are_accepted_as_json_only_and_can_fail_with_415_and_422(
    doc: dict[str, Any],
) -> None:
    for (method, path), _ in BODIES.items():
        op = doc["paths"][path][method.lower()]
        assert list(op["requestBody"]["content"]) == ["application/json"]
        for status in ("400", "413", "415", "422"):
            assert status in op["responses"], f"{method} {path} must document {status}"


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(("operation", "model"), list(BODIES.items()), ids=lambda v: str(v))
def test_request_bodies_match_the_command_models(
    doc: dict[str, Any], operation: tuple[str, str], model: type[BaseModel]
) -> None:
    method, path = operation
    op = doc["paths"][path][method.lower()]
    documented = _resolve(doc, op["requestBody"]["content"]["application/json"]["schema"])
    expected = model.model_json_schema()
    assert documented["additionalProperties"] is False
    assert set(documented["properties"]) == set(expected["properties"])
    assert set(documented.get("required", ())) == set(expected.get("required", ()))
    for name, want in expected["properties"].items():
        want = _non_null(want)
        have = _resolve(doc, documented["properties"][name])
        for key in CONSTRAINTS:
            if key == "default":
                continue
            assert have.get(key) == want.get(key), f"{model.__name__}.{name}: {key}"


@pytest.mark.parametrize("operation", LISTS, ids=str)
def test_list_parameters_match_the_page_model(
    doc: dict[str, Any], operation: tuple[str, str]
) -> None:
    method, path = operation
    op = doc["paths"][path][method.lower()]
    model = {"/v1/tenants": Page, "/v1/users": UserPage}.get(path, PrinterPage)
    page = model.model_json_schema()["properties"]
    query = {
        p["name"]: p for p in (_resolve(doc, raw) for raw in op["parameters"]) if p["in"] == "query"
    }
    assert {"limit", "after"} <= set(query) <= set(page)
    for name, param in query.items():
        want = _non_null(page[name])
        for key in CONSTRAINTS:
            assert param["schema"].get(key) == want.get(key), f"{path} ?{name}: {key}"
    item = _resolve(doc, op["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(item["required"]) == {"items", "next_after"}


def test_created_resources_carry_a_location(doc: dict[str, Any]) -> None:
    for method, path in (
        ("POST", "/v1/tenants"),
        ("POST", "/v1/printers"),
        ("POST", "/v1/users"),
        ("POST", "/v1/users/{user_id}/api-tokens"),
    ):
        created = doc["paths"][path][method.lower()]["responses"]["201"]
        assert "Location" in created["headers"], f"{method} {path}"
