"""Services' own identities: least privilege between services.

A service that calls another over HTTP does so as itself, never with the platform's
operator token: it holds a service token of its own (``service_token``,
``pcsvc_<service>_<random>``), and the callee holds only the token's SHA-256 digest
(``service_identities``: service name -> digest), so a callee cannot reuse what it
verifies. What a service may do is fixed here, in :data:`SERVICE_GRANTS`: its scopes and
the services it may call; a service principal has those scopes and nothing else (no
tenant, no role, never an operator), so every tenant's route refuses it.

The local platform and the Kubernetes manifests provision one token per calling
service (in that service's own Secret) and the digests to each callee named in its
grant.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from aiohttp import web

from shared.errors import Unauthenticated
from shared.http.auth import Principal, bearer_token

SERVICE_TOKEN_PREFIX = "pcsvc_"
SERVICE_ROLE = "service"
"""The only role of a service principal."""
DEVICE_COMMANDS_READ = "device-commands:read"
"""Read any device's unacknowledged commands (the gateway, when a device connects)."""
_TOKEN = re.compile(r"pcsvc_([a-z][a-z0-9-]{0,30})_[A-Za-z0-9_-]{32,128}")


@dataclass(frozen=True)
class ServiceGrant:
    """What one service may do as itself: its scopes, and the services it calls."""

    scopes: frozenset[str]
    callees: frozenset[str]


SERVICE_GRANTS: Mapping[str, ServiceGrant] = MappingProxyType(
    {
        "gateway": ServiceGrant(
            scopes=frozenset({DEVICE_COMMANDS_READ}), callees=frozenset({"registry"})
        ),
    }
)
"""Every service-to-service call of the platform: caller -> its grant."""


def new_service_token(service: str) -> str:
    """A fresh token for ``service`` (the name is part of it, the rest is random)."""
    token = f"{SERVICE_TOKEN_PREFIX}{service}_{secrets.token_urlsafe(32)}"
    if not _TOKEN.fullmatch(token):
        raise ValueError(f"not a service name: {service!r}")
    return token


def token_digest(token: str) -> str:
    """The SHA-256 hex digest a callee holds instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def callers_of(service: str) -> list[str]:
    """The services whose grant names ``service`` as a callee."""
    return sorted(name for name, grant in SERVICE_GRANTS.items() if service in grant.callees)


class ServiceTokenAuthenticator:
    """Accepts the service tokens whose digests this service was given, as principals
    with exactly the scopes of the service's grant."""

    def __init__(self, identities: Mapping[str, str]) -> None:
        self._digests = {name: digest.lower() for name, digest in identities.items()}

    async def authenticate(self, request: web.Request) -> Principal:
        """The calling service, or Unauthenticated."""
        token = bearer_token(request)
        match = _TOKEN.fullmatch(token)
        expected = self._digests.get(match.group(1)) if match else None
        if match is None or expected is None:
            raise Unauthenticated("unknown or expired token")
        if not hmac.compare_digest(token_digest(token), expected):
            raise Unauthenticated("unknown or expired token")
        service = match.group(1)
        grant = SERVICE_GRANTS.get(service)
        return Principal(
            subject=f"service:{service}",
            tenant_id=None,
            roles=frozenset({SERVICE_ROLE}),
            scopes=grant.scopes if grant else frozenset(),
            service=service,
        )
