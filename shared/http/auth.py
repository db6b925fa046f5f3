"""The authentication hook: who is calling, and for which tenant.

Every route except health and metrics requires a principal. An
:class:`Authenticator` turns a request into a :class:`Principal` or raises
:class:`~shared.errors.Unauthenticated`. The bootstrap authenticator knows one
operator token (platform administration, e.g. creating tenants); the auth
service plugs its token verifier in through the same interface.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from shared.errors import Forbidden, Unauthenticated


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``tenant_id`` None means platform operator."""

    subject: str
    tenant_id: uuid.UUID | None
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_operator(self) -> bool:
        """Platform operators act across tenants."""
        return self.tenant_id is None and "operator" in self.roles

    def require_role(self, *roles: str) -> None:
        """Forbidden unless the principal has one of ``roles`` (operators always pass)."""
        if not self.is_operator and not self.roles.intersection(roles):
            raise Forbidden(f"requires one of the roles {sorted(roles)}")

    def can_access(self, tenant_id: uuid.UUID) -> bool:
        """Whether this caller may see ``tenant_id``'s data.

        Callers answer a foreign resource exactly as a missing one (the same 404),
        so that existence does not leak across tenants.
        """
        return self.is_operator or (self.tenant_id is not None and self.tenant_id == tenant_id)

    def tenant_scope(self) -> uuid.UUID | None:
        """The tenant a listing is limited to; None (all tenants) only for operators."""
        if self.is_operator:
            return None
        if self.tenant_id is None:
            raise Forbidden("this credential is not bound to a tenant")
        return self.tenant_id


class Authenticator(Protocol):
    """Turns a request's credentials into a principal."""

    async def authenticate(self, request: web.Request) -> Principal:
        """The caller, or Unauthenticated."""
        ...


def bearer_token(request: web.Request) -> str:
    """The bearer token of the Authorization header, or Unauthenticated."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send 'Authorization: Bearer <token>'")
    return token.strip()


class OperatorTokenAuthenticator:
    """Accepts the configured operator token; anything else is Unauthenticated."""

    def __init__(self, operator_token: str | None) -> None:
        self._token = operator_token.encode() if operator_token else None

    async def authenticate(self, request: web.Request) -> Principal:
        """The operator principal for the right token."""
        token = bearer_token(request).encode()
        if self._token is None or not hmac.compare_digest(token, self._token):
            raise Unauthenticated("unknown or expired token")
        return Principal(subject="operator", tenant_id=None, roles=frozenset({"operator"}))
