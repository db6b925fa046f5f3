"""Auth's public HTTP operations and the shapes of its answers.

``docs/openapi.yaml`` is generated from :data:`OPERATIONS` (``printcloud openapi
write``); a test checks that they are exactly the routes of ``routes.py``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.auth.api.shapes import UserPage
from services.auth.domain.commands import CreateApiToken, CreateUser, TokenRequest, UpdateUser
from shared.http.openapi import Operation

NEXT_AFTER = "Pass as `after` for the next page; `null` when this page is not full."
BODY_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)
READ_ERRORS = (401, 403, 404)
TAG = "auth"


class AccessToken(BaseModel):
    """A new access token."""

    access_token: str = Field(
        description="The JWT; send it as `Authorization: Bearer <access_token>` to any service."
    )
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until it expires.")
    scope: str = Field(description="The scopes it carries, space-separated.")


class Jwk(BaseModel):
    """An Ed25519 public key that verifies access tokens."""

    kty: Literal["OKP"]
    crv: Literal["Ed25519"]
    x: str = Field(description="The public key, base64url.")
    kid: str = Field(description="RFC 7638 thumbprint of the key.")
    alg: Literal["EdDSA"]
    use: Literal["sig"]


class Jwks(BaseModel):
    """A JSON Web Key Set (RFC 7517), newest key first."""

    keys: list[Jwk]


class SigningKey(BaseModel):
    """A new signing key."""

    kid: str
    created_at: datetime = Field(description="Published in the JWKS from now on.")
    activates_at: datetime = Field(description="Signs access tokens from this moment.")


class User(BaseModel):
    """A person or a service account."""

    id: uuid.UUID
    tenant_id: uuid.UUID | None = Field(description="`null` for a platform service account.")
    kind: Literal["person", "service"]
    email: str | None = Field(description="The domain is stored in lower case.")
    display_name: str
    roles: list[Literal["admin", "user"]]
    disabled: bool
    revision: int = Field(ge=1)
    created_at: datetime
    updated_at: datetime


class UserList(BaseModel):
    """One page of users, in id order."""

    items: list[User]
    next_after: uuid.UUID | None = Field(description=NEXT_AFTER)


class ApiToken(BaseModel):
    """An API token, never its secret."""

    id: uuid.UUID
    user_id: uuid.UUID
    tenant_id: uuid.UUID | None
    name: str
    scopes: list[str]
    status: Literal["active", "expired", "revoked"]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(
        description="When it was last exchanged for an access token."
    )


class CreatedApiToken(ApiToken):
    """A new API token, with its secret."""

    token: str = Field(
        pattern=r"^pc_[A-Za-z0-9_-]{43}$",
        description="The secret. Shown in this answer only; store it now.",
    )


class ApiTokenList(BaseModel):
    """A user's API tokens, newest first."""

    items: list[ApiToken]


class DeviceCredential(BaseModel):
    """A printer's or connector's public key."""

    device_id: uuid.UUID
    tenant_id: uuid.UUID
    subject_type: Literal["printer", "connector"]
    subject_id: uuid.UUID = Field(
        description="The printer or connector the key is bound to (equals `device_id`)."
    )
    public_key: str = Field(description="base64url of the key's SubjectPublicKeyInfo DER.")
    key_algorithm: Literal["ed25519", "ecdsa-p256"]
    fingerprint: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER.",
    )
    model: str
    status: Literal["active", "revoked"]
    claimed_at: datetime
    issued_at: datetime
    revoked_at: datetime | None


TAGS = {TAG: "Users, API tokens, access tokens (JWT), signing keys and device credentials."}

_NO_USER = "No such user, or one of another tenant (`user-not-found`)."
_NO_TOKEN = "No such token, or one of another tenant (`api-token-not-found`)."
_NO_DEVICE = "No such device, or one of another tenant (`device-credential-not-found`)."

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        "/v1/token",
        "Exchange an API token for an access token (no bearer token)",
        TAG,
        {200: AccessToken},
        body=TokenRequest,
        errors=(400, 413, 415, 422),
        public=True,
        operation_id="issueAccessToken",
        description="""\
OAuth 2.0 style token endpoint: the API token in the body is the credential, so the
request carries no `Authorization` header. The answer is a short-lived (default 15
minutes) JWT signed by auth (EdDSA, `kid` in the header, `typ` `at+jwt`) with the claims
`iss`, `aud` (`printcloud`), `sub` (the user id), `client_id` (the API token id),
`tenant_id`, `roles`, `scope`, `iat`, `nbf`, `exp` and `jti`. Every service verifies it
offline with the keys of `/.well-known/jwks.json`.

The access token's scopes are the API token's scopes that the user's current roles still
grant, narrowed to `scope` when given. An unknown, expired or revoked API token, or one
of a disabled or deleted user, gets one and the same `invalid-grant` answer.
`printcloud login` does this exchange and repeats it when the access token expires.""",
        descriptions={
            200: "A new access token. Never cache it (`Cache-Control: no-store`).",
            400: "The body is not JSON (`malformed-json`); the API token is unknown, expired "
            "or revoked, or its user is disabled (`invalid-grant`, one answer for all); or "
            "`scope` asks for more than the API token grants (`invalid-scope`).",
        },
        response_headers={200: {"Cache-Control": "`no-store`."}},
        example={
            "grant_type": "api_token",
            "api_token": "pc_Jv8y1mZQ2c0cS8rJrQ0mB4v2o3n9YxW5hT7uK6dE1aF",
            "scope": "printers:read",
        },
    ),
    Operation(
        "GET",
        "/.well-known/jwks.json",
        "The public keys that verify access tokens (no token)",
        TAG,
        {200: Jwks},
        errors=(),
        public=True,
        operation_id="getJwks",
        description="A JSON Web Key Set (RFC 7517) of Ed25519 keys (`kty` `OKP`, `alg` "
        "`EdDSA`), newest first; `kid` is the key's RFC 7638 thumbprint. A new key appears "
        "here before it signs anything, and a retired key stays until every token it signed "
        "has expired. Cache it for the `max-age` of the answer; fetch again when a token "
        "names a `kid` you do not know.",
        descriptions={200: "The key set."},
        response_headers={200: {"Cache-Control": "`public, max-age=<seconds>`."}},
    ),
    Operation(
        "POST",
        "/v1/signing-keys/rotate",
        "Start using a new signing key (operators only)",
        TAG,
        {201: SigningKey},
        errors=(401, 403),
        operation_id="rotateSigningKeys",
        description="Publishes a new signing key at once; it signs once the configured "
        "publish-ahead delay has passed (so verifiers learn it first). The previous key stays "
        "published until the tokens it signed have expired. Keys also rotate on their own "
        "when the newest is older than the rotation period.",
        descriptions={
            201: "The new key.",
            403: "The caller is not a platform operator (`forbidden`).",
        },
    ),
    Operation(
        "POST",
        "/v1/users",
        "Create a user or a service account",
        TAG,
        {201: User},
        body=CreateUser,
        errors=BODY_ERRORS,
        operation_id="createUser",
        description="Adds a person (with an email, unique in the tenant regardless of case) or "
        "a service account (no email) and publishes `user.created`. Tenant administrators "
        "(role `admin`, scope `users:write`) may omit `tenant_id` and create users of their "
        "own tenant only; naming another tenant is answered `404` (`tenant-not-found`). "
        "Operators name the tenant, or leave it `null` for a platform service account (kind "
        "`service`, no role), such as the gateway's.",
        descriptions={
            201: "The user was created.",
            403: "The caller lacks the `admin` role or the `users:write` scope (`forbidden`).",
            404: "Another tenant was named (`tenant-not-found`, field `tenant_id`).",
            409: "The tenant has a user with this email (`duplicate-email`, field `email`).",
        },
        response_headers={201: {"Location": "Path of the new user, `/v1/users/{id}`."}},
        example={"email": "ada@example.com", "display_name": "Ada Lovelace", "roles": ["admin"]},
    ),
    Operation(
        "GET",
        "/v1/users",
        "List users",
        TAG,
        {200: UserList},
        query=UserPage,
        errors=(401, 403, 404, 422),
        operation_id="listUsers",
        description="Tenant administrators (scope `users:read`) see their own tenant's users. "
        "Operators see every user, one tenant's with `tenant_id`, or the platform service "
        "accounts with `platform=true`.",
        descriptions={404: "Another tenant was named (`tenant-not-found`)."},
    ),
    Operation(
        "GET",
        "/v1/users/{user_id}",
        "Read a user",
        TAG,
        {200: User},
        errors=READ_ERRORS,
        operation_id="getUser",
        description="Needs the `admin` role and the `users:read` scope.",
        descriptions={404: _NO_USER},
    ),
    Operation(
        "PATCH",
        "/v1/users/{user_id}",
        "Change a user",
        TAG,
        {200: User},
        body=UpdateUser,
        errors=BODY_ERRORS,
        operation_id="updateUser",
        description="Only the fields sent change; publishes `user.updated` with the full new "
        "state when something did. A disabled user's API tokens get no access token. Needs "
        "the `admin` role and the `users:write` scope.",
        descriptions={
            200: "The user after the change.",
            404: _NO_USER,
            409: "The tenant has a user with this email (`duplicate-email`, field `email`).",
        },
        example={"roles": ["user"], "disabled": True},
    ),
    Operation(
        "DELETE",
        "/v1/users/{user_id}",
        "Delete a user",
        TAG,
        {204: "The user is gone."},
        errors=READ_ERRORS,
        operation_id="deleteUser",
        description="Revokes the user's API tokens and deletes the user in one change "
        "(`api_token.revoked` for each, then `user.deleted`). Access tokens already issued "
        "stay valid until they expire. Needs the `admin` role and the `users:write` scope.",
        descriptions={404: _NO_USER},
    ),
    Operation(
        "POST",
        "/v1/users/{user_id}/api-tokens",
        "Create an API token for a user (its secret is shown once)",
        TAG,
        {201: CreatedApiToken},
        body=CreateApiToken,
        errors=(400, 401, 403, 404, 413, 415, 422),
        operation_id="createApiToken",
        description="The answer holds the secret (`pc_` and 43 base64url characters) under "
        "`token`; auth keeps only its SHA-256 and can never show it again. The scopes must be "
        "granted by the user's roles and, unless the caller is an operator, held by the "
        "caller's own access token. Publishes `api_token.created` (without the secret). Needs "
        "the `admin` role and the `users:write` scope. Give the secret to `printcloud login`.",
        descriptions={
            201: "The token, with its secret.",
            404: _NO_USER,
            422: "Invalid input, or scopes the user's roles or the caller's token do not grant "
            "(field `scopes`).",
        },
        response_headers={201: {"Location": "Path of the new token, `/v1/api-tokens/{id}`."}},
        example={
            "name": "build server",
            "scopes": ["printers:read", "jobs:submit"],
            "expires_at": "2027-01-01T00:00:00Z",
        },
    ),
    Operation(
        "GET",
        "/v1/users/{user_id}/api-tokens",
        "List a user's API tokens (never their secrets)",
        TAG,
        {200: ApiTokenList},
        errors=READ_ERRORS,
        operation_id="listApiTokens",
        description="Revoked and expired tokens included, newest first. Needs `users:read`.",
        descriptions={200: "The tokens.", 404: _NO_USER},
    ),
    Operation(
        "GET",
        "/v1/api-tokens/{token_id}",
        "Read an API token (never its secret)",
        TAG,
        {200: ApiToken},
        errors=READ_ERRORS,
        operation_id="getApiToken",
        descriptions={200: "The token.", 404: _NO_TOKEN},
    ),
    Operation(
        "POST",
        "/v1/api-tokens/{token_id}/revoke",
        "Revoke an API token",
        TAG,
        {200: ApiToken},
        errors=READ_ERRORS,
        operation_id="revokeApiToken",
        description="The token gets no access token from now on (access tokens already issued "
        "live until they expire). Publishes `api_token.revoked`; revoking a revoked token "
        "changes nothing. Needs the `admin` role and `users:write`.",
        descriptions={200: "The revoked token.", 404: _NO_TOKEN},
    ),
    Operation(
        "GET",
        "/v1/device-credentials/{device_id}",
        "Read a device's public key",
        TAG,
        {200: DeviceCredential},
        errors=READ_ERRORS,
        operation_id="getDeviceCredential",
        description="A printer's or connector's public key, issued when the registry announced "
        "the device's claim (`device.claimed`). Readable by operators, by administrators of "
        "the device's tenant with `devices:read`, and by verifiers holding `devices:verify` (a "
        "platform service account, such as the gateway's, reads every tenant's devices). "
        "Check `status`: a revoked key must not authenticate the device.",
        descriptions={200: "The credential.", 404: _NO_DEVICE},
    ),
    Operation(
        "POST",
        "/v1/device-credentials/{device_id}/revoke",
        "Revoke a device's public key",
        TAG,
        {200: DeviceCredential},
        errors=READ_ERRORS,
        operation_id="revokeDeviceCredential",
        description="The device can no longer authenticate with this key; publishes "
        "`device_credential.revoked` (the gateway drops the key). Revoking a revoked "
        "credential changes nothing. Needs the `admin` role and `devices:write`.",
        descriptions={200: "The revoked credential.", 404: _NO_DEVICE},
    ),
)
