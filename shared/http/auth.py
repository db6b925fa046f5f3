"""The authentication hook: who is calling, for which tenant, with which scopes.

Every route except health and metrics requires a principal. An
:class:`Authenticator` turns a request into a :class:`Principal` or raises
:class:`~shared.errors.Unauthenticated`. The bootstrap authenticator knows one
operator token (platform administration, e.g. creating tenants). The
:class:`AccessTokenAuthenticator` is the one verification of the auth service's access
tokens, whichever way the signing keys are found; :class:`JwtAuthenticator` verifies
them offline against the public keys auth publishes (JWKS), and auth itself against
its own key table. :class:`CompositeAuthenticator` tries several in turn.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

import aiohttp
import jwt
from aiohttp import web

from shared.errors import DomainError, Forbidden, Unauthenticated
from shared.events.envelope import Actor
from shared.logging import get_logger

log = get_logger(__name__)

SCOPES: Mapping[str, str] = MappingProxyType(
    {
        "printers:read": "Read printers, their capabilities and state.",
        "printers:write": "Register printers and change them.",
        "jobs:read": "Read print jobs.",
        "jobs:submit": "Submit print jobs.",
        "users:read": "Read users and their API tokens.",
        "users:write": "Create, change and delete users; create and revoke API tokens.",
        "devices:read": "Read device credentials.",
        "devices:write": "Revoke device credentials.",
        "devices:verify": "Read any device's public key to verify it (gateway, services).",
        "device": "Act as one printer or connector of a tenant (device access tokens only; "
        "never granted to a user).",
    }
)
"""The scope vocabulary of access tokens: scope -> what it allows."""

TENANT_ROLES = frozenset({"admin", "user"})
"""Roles a tenant's users hold; ``operator`` is never granted by a token."""

DEVICE_ROLE = "device"
"""The only role of a device access token (``sub`` = the device id)."""
DEVICE_SCOPE = "device"
"""The only scope of a device access token; a user's token never carries it."""
DEVICE_KINDS = frozenset({"printer", "connector"})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``tenant_id`` None means platform operator."""

    subject: str
    tenant_id: uuid.UUID | None
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    device_id: uuid.UUID | None = None
    """Set for a device (printer or connector) acting with a device access token."""
    device_kind: str | None = None
    """``printer`` or ``connector`` for a device; None otherwise."""
    token_id: uuid.UUID | None = None
    """The API token a user's access token was minted from (its ``client_id``); None for
    the operator token and devices. A revoked API token ends every token minted from it."""
    service: str | None = None
    """The calling service, for a service token (:mod:`shared.http.identities`)."""

    @property
    def actor(self) -> Actor:
        """This caller as the ``actor`` of the events its request causes."""
        if self.device_id is not None:
            return Actor(kind="device", id=str(self.device_id))
        if self.service is not None:
            return Actor(kind="service", id=self.service)
        if self.is_operator:
            return Actor(kind="operator", id=self.subject)
        return Actor(kind="user", id=self.subject, token_id=self.token_id)

    @property
    def is_operator(self) -> bool:
        """Platform operators act across tenants."""
        return self.tenant_id is None and "operator" in self.roles

    @property
    def is_service(self) -> bool:
        """Another service of the platform, acting as itself with only its grant's scopes."""
        return self.service is not None

    @property
    def is_device(self) -> bool:
        """A printer or connector with a device access token (never a user)."""
        return self.device_id is not None

    def require_device(self) -> uuid.UUID:
        """The device's id; Forbidden unless this is a device access token."""
        if self.device_id is None or DEVICE_SCOPE not in self.scopes:
            raise Forbidden("requires a device access token")
        return self.device_id

    def require_role(self, *roles: str) -> None:
        """Forbidden unless the principal has one of ``roles`` (operators always pass)."""
        if not self.is_operator and not self.roles.intersection(roles):
            raise Forbidden(f"requires one of the roles {sorted(roles)}")

    def require_scope(self, scope: str) -> None:
        """Forbidden unless the credential carries ``scope`` (operators always pass)."""
        if not self.is_operator and scope not in self.scopes:
            raise Forbidden(f"requires the scope {scope!r}")

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
    """Accepts the operator token, known by itself or (better: a service that verifies it
    cannot use it) only by its SHA-256 hex digest; anything else is Unauthenticated."""

    def __init__(self, operator_token: str | None, *, sha256: str | None = None) -> None:
        digest = sha256.strip().lower() if sha256 else None
        if operator_token:
            digest = hashlib.sha256(operator_token.encode()).hexdigest()
        self._digest = digest.encode() if digest else None

    async def authenticate(self, request: web.Request) -> Principal:
        """The operator principal for the right token."""
        presented = hashlib.sha256(bearer_token(request).encode()).hexdigest().encode()
        if self._digest is None or not hmac.compare_digest(presented, self._digest):
            raise Unauthenticated("unknown or expired token")
        return Principal(subject="operator", tenant_id=None, roles=frozenset({"operator"}))


class CompositeAuthenticator:
    """Tries each authenticator in order; the first that accepts the request wins."""

    def __init__(self, *authenticators: Authenticator) -> None:
        if not authenticators:
            raise ValueError("name at least one authenticator")
        self._authenticators = authenticators

    async def authenticate(self, request: web.Request) -> Principal:
        """The first principal found; otherwise the last refusal."""
        refusal: Unauthenticated | None = None
        for authenticator in self._authenticators:
            try:
                return await authenticator.authenticate(request)
            except Unauthenticated as exc:
                refusal = exc
        assert refusal is not None
        raise refusal


# --------------------------------------------------------------------------- access tokens

ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
"""JOSE ``typ`` of an access token (RFC 9068); other JWTs are refused."""
_KEY_TYPES = {"EdDSA": ("OKP", "Ed25519"), "ES256": ("EC", "P-256")}
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "exp", "jti"]


class AuthUnavailable(DomainError):
    """The token issuer's keys cannot be had: a server-side outage, not the caller's fault."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, code="auth-unavailable", status=503, title="Unavailable")


def token_key_id(token: str) -> tuple[str, str]:
    """``(kid, alg)`` from an access token's header (not yet verified), or Unauthenticated."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthenticated("the token is not a JWT") from None
    kid, alg, typ = header.get("kid"), header.get("alg"), header.get("typ")
    if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
        raise Unauthenticated("the token is not an access token")
    if not isinstance(kid, str) or not isinstance(alg, str):
        raise Unauthenticated("the token names no signing key")
    return kid, alg


def parse_jwks(document: object) -> dict[str, jwt.PyJWK]:
    """The usable signing keys of a JWKS, by kid; keys of other types are skipped."""
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise ValueError("not a JWK set")
    usable: dict[str, jwt.PyJWK] = {}
    for jwk in keys:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        alg = jwk.get("alg")
        wanted = _KEY_TYPES.get(alg) if isinstance(alg, str) else None
        if wanted != (jwk.get("kty"), jwk.get("crv")) or jwk.get("use", "sig") != "sig":
            continue
        try:
            usable[jwk["kid"]] = jwt.PyJWK.from_dict(jwk, algorithm=alg)
        except jwt.PyJWTError:
            continue
    return usable


MAX_TOKEN_LIFETIME_S = 86_400
"""The longest lifetime (``exp - iat``) an access token may claim: auth issues none
longer, and services keep revocations this long (plus the leeway), no longer."""


def verify_access_token(
    token: str,
    key: jwt.PyJWK,
    *,
    issuer: str,
    audience: str,
    leeway_s: float,
    max_lifetime_s: float = MAX_TOKEN_LIFETIME_S,
) -> Principal:
    """Check an access token's signature (with ``key``'s own algorithm) and claims; a
    token claiming to live longer than ``max_lifetime_s`` is refused, so that a revocation
    kept that long outlives every token minted before it."""
    _, alg = token_key_id(token)
    if alg != key.algorithm_name:
        raise Unauthenticated("the token's algorithm does not match its key")
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[key.algorithm_name],
            audience=audience,
            issuer=issuer,
            leeway=leeway_s,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired") from None
    except jwt.ImmatureSignatureError:
        raise Unauthenticated("the token is not valid yet") from None
    except jwt.PyJWTError:
        raise Unauthenticated("the token is not valid") from None
    lifetime = claims["exp"] - claims["iat"]
    if not isinstance(lifetime, int | float) or lifetime > max_lifetime_s:
        raise Unauthenticated("the token's lifetime is longer than this service accepts")
    return principal_from_claims(claims)


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """The principal of verified claims; roles and scopes outside the vocabulary are dropped.

    A device access token (role and scope ``device``, a ``device`` claim) becomes a
    device principal; no other token ever gets the device role or scope, and a device
    principal holds nothing else.
    """
    sub, tenant, roles, scope = (
        claims.get("sub"),
        claims.get("tenant_id"),
        claims.get("roles", []),
        claims.get("scope", ""),
    )
    if not isinstance(sub, str) or not sub or not isinstance(scope, str):
        raise Unauthenticated("the token's claims are not valid")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated("the token's claims are not valid")
    try:
        tenant_id = None if tenant is None else uuid.UUID(str(tenant))
    except ValueError:
        raise Unauthenticated("the token's claims are not valid") from None
    if DEVICE_ROLE in roles or DEVICE_SCOPE in scope.split() or "device" in claims:
        return _device_principal(sub, tenant_id, roles, scope, claims.get("device"))
    try:
        token_id = uuid.UUID(str(claims["client_id"])) if claims.get("client_id") else None
    except ValueError:
        raise Unauthenticated("the token's claims are not valid") from None
    return Principal(
        subject=sub,
        tenant_id=tenant_id,
        roles=frozenset(roles) & TENANT_ROLES,
        scopes=frozenset(scope.split()) & (SCOPES.keys() - {DEVICE_SCOPE}),
        token_id=token_id,
    )


def _device_principal(
    sub: str, tenant_id: uuid.UUID | None, roles: list[str], scope: str, device: object
) -> Principal:
    """A device token must be exactly that: one role, one scope, a tenant, a device id."""
    refused = Unauthenticated("the device token's claims are not valid")
    if roles != [DEVICE_ROLE] or scope != DEVICE_SCOPE or tenant_id is None:
        raise refused
    if not isinstance(device, dict) or device.get("kind") not in DEVICE_KINDS:
        raise refused
    try:
        device_id = uuid.UUID(sub)
    except ValueError:
        raise refused from None
    return Principal(
        subject=sub,
        tenant_id=tenant_id,
        roles=frozenset({DEVICE_ROLE}),
        scopes=frozenset({DEVICE_SCOPE}),
        device_id=device_id,
        device_kind=str(device["kind"]),
    )


JwksFetch = Callable[[], Awaitable[tuple[object, float | None]]]


def _max_age(cache_control: str | None) -> float | None:
    for directive in (cache_control or "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age" and value.isdigit():
            return float(value)
    return None


class JwksCache:
    """The issuer's public keys, fetched over HTTP and kept fresh.

    Keys are kept for the ``Cache-Control: max-age`` of the answer (or
    ``default_max_age_s``) and refreshed in the background once 80 % of that has
    passed. A token naming an unknown ``kid`` triggers a refresh, but never more
    than one per ``min_refresh_s``, so a flood of forged kids cannot make this
    service hammer the issuer. If the issuer is unreachable, the last keys stay in
    use for ``stale_grace_s`` past their expiry; after that requests get 503.
    """

    def __init__(
        self,
        url: str,
        *,
        fetch: JwksFetch | None = None,
        default_max_age_s: float = 300,
        min_refresh_s: float = 10,
        stale_grace_s: float = 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._fetch = fetch or self._http_fetch
        self._default_max_age_s = default_max_age_s
        self._min_refresh_s = min_refresh_s
        self._stale_grace_s = stale_grace_s
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._max_age_s = default_max_age_s
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self.fetches = 0

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key named ``kid``, refreshing the set when it is stale or lacks the kid."""
        now = self._clock()
        age = None if self._fetched_at is None else now - self._fetched_at
        if age is None or age >= self._max_age_s:
            await self._refresh(now)
            self._require_usable()
        elif age >= 0.8 * self._max_age_s and not self._background:
            task = asyncio.create_task(self._refresh(now))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        if kid not in self._keys and now - self._attempted_at >= self._min_refresh_s:
            await self._refresh(now)
        return self._keys.get(kid)

    def _require_usable(self) -> None:
        fetched = self._fetched_at
        limit = self._max_age_s + self._stale_grace_s
        if fetched is None or self._clock() - fetched >= limit:
            raise AuthUnavailable("the token issuer's keys are unavailable; try again later")

    async def _refresh(self, requested_at: float) -> None:
        async with self._lock:
            if self._attempted_at >= requested_at:
                return  # another caller refreshed while this one waited
            if self._clock() - self._attempted_at < self._min_refresh_s:
                return  # at most one fetch per min_refresh_s, failed or not
            self._attempted_at = self._clock()
            try:
                document, max_age = await self._fetch()
                keys = parse_jwks(document)
            except Exception as exc:  # any failure keeps the last good keys
                log.warning("jwks refresh failed", url=self.url, error=type(exc).__name__)
                return
            self.fetches += 1
            self._keys, self._fetched_at = keys, self._clock()
            self._max_age_s = max_age if max_age else self._default_max_age_s

    async def _http_fetch(self) -> tuple[object, float | None]:
        timeout = aiohttp.ClientTimeout(total=5)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(self.url, headers={"Accept": "application/json"}) as resp,
        ):
            resp.raise_for_status()
            document: object = await resp.json(content_type=None)
            return document, _max_age(resp.headers.get("Cache-Control"))


SigningKeyLookup = Callable[[web.Request, str], Awaitable[jwt.PyJWK | None]]
"""Finds the issuer's public key named ``kid`` (None: no such key)."""


class AccessTokenAuthenticator:
    """Verifies auth's access tokens: the bearer token's ``kid`` names the key that
    ``keys`` finds; the signature and claims are checked by :func:`verify_access_token`.
    The one verification of access tokens, whichever way the keys are found."""

    def __init__(
        self, keys: SigningKeyLookup, issuer: str, audience: str, *, leeway_s: float = 30
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s

    async def authenticate(self, request: web.Request) -> Principal:
        """The principal of a valid access token, or Unauthenticated."""
        token = bearer_token(request)
        kid, _ = token_key_id(token)
        key = await self._keys(request, kid)
        if key is None:
            raise Unauthenticated("the token's signing key is unknown")
        return verify_access_token(
            token, key, issuer=self._issuer, audience=self._audience, leeway_s=self._leeway_s
        )


class JwtAuthenticator(AccessTokenAuthenticator):
    """Verifies auth's access tokens offline with the keys of its JWKS."""

    def __init__(
        self,
        jwks_url: str,
        issuer: str,
        audience: str,
        *,
        leeway_s: float = 30,
        min_refresh_s: float = 10,
        cache: JwksCache | None = None,
    ) -> None:
        self.jwks = cache or JwksCache(jwks_url, min_refresh_s=min_refresh_s)
        super().__init__(self._jwks_key, issuer, audience, leeway_s=leeway_s)

    async def _jwks_key(self, _: web.Request, kid: str) -> jwt.PyJWK | None:
        return await self.jwks.key(kid)
