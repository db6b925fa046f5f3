"""docs/openapi.yaml is generated from the services' declared operations, is valid
OpenAPI 3.1, and describes exactly the routes the services serve.

No network and no database: the services' routes are added to bare aiohttp apps
that are never started, and only their routers are inspected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml
from aiohttp import web
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from pydantic import BaseModel

from deploy.apidocs import openapi, openapi_file
from deploy.apidocs.common import COMMON_OPERATIONS, EDGE_OPERATIONS
from deploy.apidocs.openapi import ServiceApi
from deploy.catalog import SERVICES, load_spec
from services.auth.api.shapes import UserPage
from services.auth.domain.commands import CreateApiToken, CreateUser, TokenRequest, UpdateUser
from services.registry.api.views import Page, PrinterPage
from services.registry.domain.commands import (
    ClaimDevice,
    CreateTenant,
    CreateVirtualPrinter,
    IssueCommand,
    RedeemRegistration,
    RegisterPrinter,
    RelaySheet,
    StartRegistration,
    UpdatePrinter,
    UpdateVirtualPrinter,
)
from shared.errors import FieldError
from shared.http.middleware import PUBLIC_PATHS
from shared.http.operations import Operation
from shared.http.problem import PROBLEM_CONTENT_TYPE, problem_response

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
    ("POST", "/v1/registrations/redeem"): RedeemRegistration,
    ("POST", "/v1/devices/{device_id}/commands"): IssueCommand,
    ("POST", "/v1/token"): TokenRequest,
    ("POST", "/v1/users"): CreateUser,
    ("PATCH", "/v1/users/{user_id}"): UpdateUser,
    ("POST", "/v1/users/{user_id}/api-tokens"): CreateApiToken,
}
LISTS = {
    ("GET", "/v1/tenants"): Page,
    ("GET", "/v1/printers"): PrinterPage,
    ("GET", "/v1/virtual-printers"): PrinterPage,
    ("GET", "/v1/users"): UserPage,
}
CONSTRAINTS = ("minLength", "maxLength", "pattern", "format", "minimum", "maximum")
COMMON = {(op.method, op.path) for op in COMMON_OPERATIONS + EDGE_OPERATIONS}
PAGES = {"portal": "/portal"}
"""Services that serve HTML pages for browsers (below this prefix), not API operations."""


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi.build_document()


@pytest.fixture(scope="module")
def apis() -> dict[str, ServiceApi]:
    return {api.name: api for api in openapi.service_apis()}


def service_app(name: str) -> web.Application:
    """A bare app holding exactly the service's own routes (never started)."""
    app = web.Application()
    spec = load_spec(name)
    if spec.add_routes is not None:
        spec.add_routes(app)
    return app


def _normalise(path: str) -> str:
    """``/a/{id:[0-9]+}`` -> ``/a/{id}``: OpenAPI templates carry no regex."""
    return re.sub(r"\{(\w+)(?::[^{}]*)?\}", r"{\1}", path)


def router_operations(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path) of every route; HEAD is implied by GET and not documented."""
    return {
        (route.method, _normalise(route.resource.canonical))
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


def public_operations(app: web.Application) -> set[tuple[str, str]]:
    """Routes whose view is marked public (the caller proves itself another way)."""
    return {
        (route.method, _normalise(route.resource.canonical))
        for route in app.router.routes()
        if route.resource is not None
        and route.method != "HEAD"
        and getattr(route.handler, "__printcloud_public__", False)
    }


def declared(api: ServiceApi) -> set[tuple[str, str]]:
    return {(op.method.upper(), op.path) for op in api.operations}


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


# --------------------------------------------------------------------------- the file


def test_committed_document_is_the_generated_one() -> None:
    assert openapi_file.DOCUMENT.exists(), "run: printcloud openapi write"
    assert openapi_file.DOCUMENT.read_text() == openapi_file.render(), (
        "docs/openapi.yaml is stale: run `printcloud openapi write`"
    )


def test_committed_document_parses_to_the_generated_document(doc: dict[str, Any]) -> None:
    assert yaml.safe_load(openapi_file.render(doc)) == json.loads(json.dumps(doc))


def test_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    assert str(doc["openapi"]).startswith("3.1")
    validate(doc, cls=OpenAPIV31SpecValidator)


# --------------------------------------------------------------------------- served == declared


@pytest.mark.parametrize("name", list(SERVICES))
def test_every_served_route_is_declared_and_every_declaration_served(
    name: str, apis: dict[str, ServiceApi]
) -> None:
    served = router_operations(service_app(name)) - COMMON
    if name in PAGES:
        outside = {(m, p) for m, p in served if not p.startswith(PAGES[name] + "/")
                   and p != PAGES[name]}  # fmt: skip
        assert not outside, f"{name} serves pages outside {PAGES[name]}: {outside}"
        served = set()
    have = declared(apis[name]) if name in apis else set()
    assert served - have == set(), f"{name} serves routes it does not declare: {served - have}"
    assert have - served == set(), f"{name} declares operations it does not serve: {have - served}"


@pytest.mark.parametrize("name", list(SERVICES))
def test_public_marks_agree_with_the_views(name: str, apis: dict[str, ServiceApi]) -> None:
    # pages authenticate by their session cookie (services/portal/api/security.py)
    public = set() if name in PAGES else public_operations(service_app(name))
    marked = (
        {(op.method, op.path) for op in apis[name].operations if op.public}
        if name in apis
        else set()
    )
    assert marked == public, f"{name}: declared public {marked}, views marked public {public}"


def test_every_operation_is_in_the_document_once(
    doc: dict[str, Any], apis: dict[str, ServiceApi]
) -> None:
    in_doc = {(m, p): op["x-printcloud-service"] for m, p, op in _operations(doc)}
    for api in apis.values():
        for method, path in declared(api):
            assert in_doc.get((method, path)) == api.name, f"{method} {path}"
    assert COMMON <= set(in_doc)


def test_an_undeclared_route_is_noticed(apis: dict[str, ServiceApi]) -> None:
    async def handler(_: web.Request) -> web.Response:
        return web.Response()

    app = service_app("registry")
    app.router.add_delete("/v1/printers/{printer_id:[0-9a-f-]+}", handler)
    app.router.add_get("/v1/printers/{printer_id}/jobs", handler)
    missing = router_operations(app) - COMMON - declared(apis["registry"])
    assert missing == {
        ("DELETE", "/v1/printers/{printer_id}"),
        ("GET", "/v1/printers/{printer_id}/jobs"),
    }


def test_two_services_declaring_one_operation_are_refused(apis: dict[str, ServiceApi]) -> None:
    twin = ServiceApi("twin", (apis["registry"].operations[0],))
    with pytest.raises(ValueError, match="declared by both registry and twin"):
        openapi.build_document([apis["registry"], twin])


def test_a_changed_model_changes_the_document(apis: dict[str, ServiceApi]) -> None:
    class Gadget(BaseModel):
        """A thing."""

        size: int

    op = Operation("GET", "/v1/gadgets", "Read gadgets", "gadgets", {200: Gadget})
    doc = openapi.build_document([ServiceApi("gadgets", (op,))])
    assert doc["components"]["schemas"]["Gadget"]["properties"]["size"]["type"] == "integer"
    assert doc["paths"]["/v1/gadgets"]["get"]["x-printcloud-service"] == "gadgets"


# --------------------------------------------------------------------------- security


def test_every_v1_operation_requires_a_bearer_token(
    doc: dict[str, Any], apis: dict[str, ServiceApi]
) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["type"] == "http" and schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["operatorToken"]["type"] == "http"
    public = {(op.method, op.path) for a in apis.values() for op in a.operations if op.public}
    for method, path, op in _operations(doc):
        effective = op.get("security", doc.get("security", []))
        if path in PUBLIC_PATHS or (method, path) in public | COMMON:
            assert effective == [], f"{method} {path} needs no token"
        else:
            assert path.startswith("/v1/"), path
            assert {"bearerAuth": []} in effective, f"{method} {path} must accept bearerAuth"
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
    item = _resolve(doc, problem["properties"]["errors"]["items"])
    assert set(item["properties"]) == set(body["errors"][0])


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
        have = _non_null(_resolve(doc, documented["properties"][name]))
        for key in CONSTRAINTS:
            assert have.get(key) == want.get(key), f"{model.__name__}.{name}: {key}"


@pytest.mark.parametrize(("operation", "model"), list(LISTS.items()), ids=lambda v: str(v))
def test_list_parameters_match_the_page_model(
    doc: dict[str, Any], operation: tuple[str, str], model: type[BaseModel]
) -> None:
    method, path = operation
    op = doc["paths"][path][method.lower()]
    page = model.model_json_schema()["properties"]
    query = {
        p["name"]: p for p in (_resolve(doc, raw) for raw in op["parameters"]) if p["in"] == "query"
    }
    assert set(query) == set(page)
    for name, param in query.items():
        want = _non_null(page[name])
        for key in (*CONSTRAINTS, "default"):
            if key == "default" and want.get(key) is None:
                continue
            assert param["schema"].get(key) == want.get(key), f"{path} ?{name}: {key}"
    item = _resolve(doc, op["responses"]["200"]["content"]["application/json"]["schema"])
    assert set(item["required"]) == {"items", "next_after"}


def test_created_resources_carry_a_location(doc: dict[str, Any]) -> None:
    for method, path in (
        ("POST", "/v1/tenants"),
        ("POST", "/v1/printers"),
        ("POST", "/v1/virtual-printers"),
        ("POST", "/v1/users"),
        ("POST", "/v1/users/{user_id}/api-tokens"),
    ):
        created = doc["paths"][path][method.lower()]["responses"]["201"]
        assert "Location" in created["headers"], f"{method} {path}"


def test_path_parameters_are_declared_for_every_template(doc: dict[str, Any]) -> None:
    for method, path, op in _operations(doc):
        names = {
            p["name"]
            for p in (_resolve(doc, raw) for raw in op.get("parameters", ()))
            if p["in"] == "path"
        }
        assert names == set(re.findall(r"\{(\w+)\}", path)), f"{method} {path}"
