"""The route table behind the public base URL: the most specific route wins, every
operation a service declares reaches that service, and nginx's regex order (longest
first) agrees with the edge."""

from __future__ import annotations

import re

import pytest

from deploy.apidocs.openapi import service_apis
from services.edge.routes import ROUTES, Route, RouteTable, template_path

TABLE = RouteTable()


def service_of(path: str) -> str | None:
    route = TABLE.resolve(path)
    return route.service if route else None


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/v1/jobs", "queues"),
        ("/v1/jobs/5d0c/cancel", "queues"),
        ("/v1/jobs/5d0c/events", "queues"),
        ("/v1/jobs/5d0c/routing", "routing"),
        ("/v1/jobs/5d0c/routing/extra", "routing"),
        ("/v1/documents", "queues"),
        ("/v1/reservations", "queues"),
        ("/v1/printers", "registry"),
        ("/v1/printers/5d0c", "registry"),
        ("/v1/printers/5d0c/capabilities", "registry"),
        ("/v1/printers/5d0c/release", "queues"),
        ("/v1/printers/5d0c/routing-policy", "routing"),
        ("/v1/devices/me/jobs", "queues"),
        ("/v1/devices/me/jobs/5d0c/document", "queues"),
        ("/v1/devices/me/login-challenges", "auth"),
        ("/v1/devices/ws", "gateway"),
        ("/v1/devices/5d0c/commands", "registry"),
        ("/v1/device-token", "auth"),
        ("/v1/device-logins", "auth"),
        ("/v1/users/me/phone-keys", "auth"),
        ("/v1/token", "auth"),
        ("/.well-known/jwks.json", "auth"),
        ("/v1/tenants", "registry"),
        ("/v1/jobsx", "registry"),
        ("/v1/anything/else", "registry"),
    ],
)
def test_the_most_specific_route_wins(path: str, service: str) -> None:
    assert service_of(path) == service


def test_paths_outside_the_table_match_nothing() -> None:
    assert service_of("/") is None
    assert service_of("/v2/jobs") is None
    assert service_of("/.well-known/other") is None


def test_specificity_prefers_more_segments_then_literals_left_to_right() -> None:
    table = RouteTable(
        (
            Route("/a", "short"),
            Route("/a/*/c", "wild-middle"),
            Route("/a/b/*", "literal-middle"),
        )
    )
    assert table.resolve("/a/b/c").service == "literal-middle"  # type: ignore[union-attr]
    assert table.resolve("/a/x/c").service == "wild-middle"  # type: ignore[union-attr]
    assert table.resolve("/a/x").service == "short"  # type: ignore[union-attr]


def test_a_route_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        RouteTable((Route("/v1/x", "a"), Route("/v1/x", "b")))


def test_every_declared_operation_reaches_its_own_service() -> None:
    wrong = {}
    for api in service_apis():
        for op in api.operations:
            got = service_of(template_path(op.path))
            if got != api.name:
                wrong[f"{op.method} {op.path}"] = f"{api.name}, but the table sends it to {got}"
    assert wrong == {}


def _nginx(path: str) -> str | None:
    """ingress-nginx with use-regex: locations tried longest first, ``^`` prepended,
    case-insensitive."""
    for route in sorted(ROUTES, key=lambda r: len(r.regex), reverse=True):
        if re.match("^" + route.regex, path, re.IGNORECASE):
            return route.service
    return None


def _samples() -> list[str]:
    paths = {template_path(op.path) for api in service_apis() for op in api.operations}
    for route in ROUTES:
        concrete = template_path(route.display)
        paths |= {concrete, concrete + "/x", concrete + "/x/y"}
    return sorted(paths)


@pytest.mark.parametrize("path", _samples())
def test_nginx_regex_order_agrees_with_the_edge(path: str) -> None:
    assert _nginx(path) == service_of(path)
