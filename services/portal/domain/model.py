"""Browser sessions and their tokens: pure values, no I/O."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Method = Literal["passkey", "api-token", "oidc"]
TOKEN_MARGIN = timedelta(seconds=30)
"""A session ends this long before its access token, so no page is half-made with it."""


def new_secret() -> str:
    """A 256-bit random token, base64url (session cookies, CSRF tokens)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> bytes:
    """SHA-256 of a session cookie: the only form stored, and the lookup key."""
    return hashlib.sha256(secret.encode()).digest()


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a CSRF token."""
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


@dataclass(frozen=True)
class Session:
    """A signed-in person in one browser."""

    id_hash: bytes
    user_id: uuid.UUID
    tenant_id: uuid.UUID | None
    roles: frozenset[str]
    access_token: str
    csrf_token: str
    method: Method
    created_at: datetime
    expires_at: datetime

    @property
    def is_admin(self) -> bool:
        """Whether the person administers the tenant."""
        return "admin" in self.roles

    def live(self, now: datetime) -> bool:
        """Not yet expired."""
        return now < self.expires_at


@dataclass(frozen=True)
class SignedIn:
    """Who auth said the access token is for, and how long it lasts."""

    user_id: uuid.UUID
    tenant_id: uuid.UUID | None
    roles: frozenset[str]
    access_token: str
    expires_in: float
    method: Method


def open_session(signed_in: SignedIn, now: datetime, ttl_s: int) -> tuple[str, Session]:
    """A new session (its cookie secret and the stored form): it lasts ``ttl_s`` or until
    shortly before the access token expires, whichever is first."""
    secret = new_secret()
    token_end = now + timedelta(seconds=signed_in.expires_in) - TOKEN_MARGIN
    session = Session(
        id_hash=hash_secret(secret),
        user_id=signed_in.user_id,
        tenant_id=signed_in.tenant_id,
        roles=signed_in.roles,
        access_token=signed_in.access_token,
        csrf_token=new_secret(),
        method=signed_in.method,
        created_at=now,
        expires_at=min(now + timedelta(seconds=ttl_s), token_end),
    )
    return secret, session


SIGN_IN_FLOW_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class SignInFlow:
    """A sign-in under way at the tenant's identity provider: what the browser must
    come back with (the state, its flow cookie) and what auth needs then (the nonce,
    the PKCE verifier, the redirect URI)."""

    state_hash: bytes
    browser_hash: bytes
    tenant_id: uuid.UUID
    nonce: str
    code_verifier: str
    redirect_uri: str
    expires_at: datetime

    def answers(self, browser_secret: str | None, now: datetime) -> bool:
        """Whether this browser (its flow cookie) may finish the flow now."""
        return (
            browser_secret is not None
            and hmac.compare_digest(hash_secret(browser_secret), self.browser_hash)
            and now < self.expires_at
        )
