"""Which service answers which public URL: the one table behind the public base URL.

The edge router (:mod:`services.edge.app`), the Kubernetes Ingress generator and
``docs/api.md`` all read :data:`ROUTES`. A route is a path pattern of segments,
``*`` standing for exactly one segment (an id); it matches the path itself and
everything below it (``/v1/jobs`` matches ``/v1/jobs`` and ``/v1/jobs/…/cancel``,
not ``/v1/jobsx``). When several routes match, the most specific wins: the one
with more segments, then, segment by segment from the left, a literal beats
``*``. A test checks every operation a service declares
(``services/<name>/api/operations.py``) resolves to that service, so the table
cannot drift from the services.

The same table becomes nginx Ingress paths (:meth:`Route.regex`): a regular
expression per route. ingress-nginx tries regex locations longest first, and
the patterns are built so that this order agrees with "most specific wins"
(checked by a test as well).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

WILDCARD = "*"


@dataclass(frozen=True)
class Route:
    """Requests whose path is ``pattern`` or lies below it go to ``service``."""

    pattern: str
    service: str
    websocket: bool = False
    """The route upgrades to a websocket (long idle timeouts at the proxy)."""
    stream: bool = False
    """Large request bodies or long-lived answers (uploads, server-sent events,
    downloads): the proxy must neither buffer nor cap them."""
    description: str = ""

    def __post_init__(self) -> None:
        if not self.pattern.startswith("/") or self.pattern.endswith("/"):
            raise ValueError(f"route {self.pattern!r}: starts with '/' and does not end with one")
        if any(not s for s in self.segments):
            raise ValueError(f"route {self.pattern!r}: empty segment")

    @cached_property
    def segments(self) -> tuple[str, ...]:
        """The pattern's path segments."""
        return tuple(self.pattern.strip("/").split("/"))

    @property
    def specificity(self) -> tuple[int, tuple[bool, ...]]:
        """Larger is more specific: segment count, then literals before wildcards."""
        return len(self.segments), tuple(s != WILDCARD for s in self.segments)

    def matches(self, path: str) -> bool:
        """Whether ``path`` is this route's path or lies below it."""
        parts = path.strip("/").split("/") if path.strip("/") else []
        if len(parts) < len(self.segments):
            return False
        pairs = zip(self.segments, parts[: len(self.segments)], strict=True)
        return all(want in (WILDCARD, got) and got for want, got in pairs)

    @property
    def regex(self) -> str:
        """The nginx Ingress path (ingress-nginx anchors it with ``^``)."""
        parts = ["[^/]+" if s == WILDCARD else re.escape(s) for s in self.segments]
        return "/" + "/".join(parts) + "(/|$)"

    @property
    def display(self) -> str:
        """The pattern for people: ``*`` shown as ``{id}``."""
        return "/" + "/".join("{id}" if s == WILDCARD else s for s in self.segments)


ROUTES: tuple[Route, ...] = (
    Route("/v1/documents", "queues", stream=True, description="document uploads"),
    Route("/v1/jobs", "queues", stream=True, description="print jobs and their event streams"),
    Route("/v1/jobs/*/routing", "routing", description="why a job went where it went"),
    Route("/v1/reservations", "queues", description="reserved print capacity"),
    Route("/v1/printers/*/release", "queues", description="releasing held jobs at a printer"),
    Route("/v1/printers/*/routing-policy", "routing", description="a printer's routing policy"),
    Route("/v1/policies", "routing", description="print policies"),
    Route("/v1/devices/me/jobs", "queues", stream=True, description="a device's jobs"),
    Route("/v1/devices/me/sessions", "queues", description="who is logged in at a device"),
    Route("/v1/devices/me/scans", "queues", stream=True, description="scans to a phone"),
    Route("/v1/scans", "queues", stream=True, description="protected scans to a phone"),
    Route(
        "/v1/devices/me/virtual-printers",
        "queues",
        description="the virtual printers a device's printers are members of",
    ),
    Route("/v1/devices/me/login-challenges", "auth", description="phone login at a device"),
    Route("/v1/devices/*/e2e-key", "auth", description="printers' end-to-end keys (and me)"),
    Route("/v1/devices/ws", "gateway", websocket=True, description="device websockets"),
    Route("/v1/device-token", "auth", description="device access tokens"),
    Route("/v1/device-logins", "auth", description="phone logins"),
    Route("/v1/device-credentials", "auth", description="device public keys"),
    Route("/v1/token", "auth", description="access tokens"),
    Route("/v1/passkey-challenges", "auth", description="passkey sign-in challenges"),
    Route("/v1/passkey-logins", "auth", description="passkey sign-in"),
    Route("/v1/oidc-logins", "auth", description="sign-in through an identity provider"),
    Route("/v1/identity-provider", "auth", description="a tenant's identity provider"),
    Route("/v1/identity-providers", "auth", description="sign-in providers per tenant"),
    Route("/v1/users", "auth", description="users and their API tokens"),
    Route("/v1/groups", "auth", description="groups of users"),
    Route("/v1/api-tokens", "auth", description="API tokens"),
    Route("/v1/signing-keys", "auth", description="access-token signing keys"),
    Route("/.well-known/jwks.json", "auth", description="keys that verify access tokens"),
    Route("/v1/counters", "counters", description="printers' page counters"),
    Route("/v1/usage", "counters", description="printing usage"),
    Route("/v1/quotas", "counters", description="printing quotas"),
    Route("/v1/suppliers", "consumables", description="supply vendors"),
    Route("/v1/supply-levels", "consumables", description="toner and paper levels"),
    Route("/v1/supply-rules", "consumables", description="when to reorder supplies"),
    Route("/v1/supply-orders", "consumables", description="supply orders"),
    Route("/v1/webhook-endpoints", "notifications", description="webhooks: endpoints, deliveries"),
    Route("/v1/audit", "audit", stream=True, description="the audit trail and its export"),
    Route("/portal", "portal", stream=True, description="the web portal (HTML pages)"),
    Route("/ipp", "ipp", stream=True, description="IPP Everywhere printers (application/ipp)"),
    Route("/v1", "registry", description="tenants, printers, virtual printers, onboarding"),
)


class RouteTable:
    """Resolves a request path to its route (the most specific match)."""

    def __init__(self, routes: Sequence[Route] = ROUTES) -> None:
        seen: dict[tuple[str, ...], Route] = {}
        for r in routes:
            if r.segments in seen:
                raise ValueError(f"route {r.pattern!r} is declared twice")
            seen[r.segments] = r
        self.routes = tuple(sorted(routes, key=lambda r: r.specificity, reverse=True))

    def resolve(self, path: str) -> Route | None:
        """The most specific route matching ``path``, or None."""
        for route in self.routes:
            if route.matches(path):
                return route
        return None

    def services(self) -> list[str]:
        """The services the table routes to."""
        return list(dict.fromkeys(r.service for r in self.routes))


def template_path(path: str) -> str:
    """``/v1/printers/{printer_id}/release`` -> ``/v1/printers/x/release``: an
    operation's path as a concrete request path, for resolving it."""
    return re.sub(r"\{[^{}]+\}", "x", path)
