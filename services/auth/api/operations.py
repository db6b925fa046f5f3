"""Auth's public HTTP operations (their shapes are in :mod:`services.auth.api.shapes`).

``docs/openapi.yaml`` is generated from :data:`OPERATIONS` (``printcloud openapi
write``); a test checks that they are exactly the routes of ``routes.py``.
"""

from __future__ import annotations

from services.auth.api.shapes import (
    AccessToken,
    ApiToken,
    ApiTokenList,
    CreatedApiToken,
    DeviceCredential,
    DeviceLoginAnswer,
    DeviceTokenAnswer,
    E2EKeyView,
    IdentityProviderView,
    Jwks,
    LoginChallengeAnswer,
    PasskeyList,
    PasskeyView,
    PhoneKeyList,
    PhoneKeyView,
    SigningKey,
    SignInProvider,
    User,
    UserList,
    UserPage,
    WebAuthnOptions,
)
from services.auth.domain.commands import (
    ApproveDeviceLogin,
    ConfigureProvider,
    CreateApiToken,
    CreateUser,
    DeviceTokenRequest,
    OidcLogin,
    PasskeyLogin,
    PublishE2EKey,
    RegisterPasskey,
    RegisterPhoneKey,
    RequestLoginChallenge,
    TokenRequest,
    UpdateUser,
)
from shared.http.operations import Operation

BODY_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)
READ_ERRORS = (401, 403, 404)
TAG = "auth"


TAGS = {
    TAG: "Users, API tokens, access tokens (JWT), signing keys, device credentials, device "
    "access tokens, passkeys, phone keys and phone logins at printers."
}

_NO_USER = "No such user, or one of another tenant (`user-not-found`)."
_NO_TOKEN = "No such token, or one of another tenant (`api-token-not-found`)."
_NO_DEVICE = "No such device, or one of another tenant (`device-credential-not-found`)."
_NO_PHONE_KEY = "No such phone key of this user (`phone-key-not-found`)."
_NO_PROVIDER = "The tenant has no identity provider (`identity-provider-not-found`)."
_SIGNED_LOGIN = "printcloud-device-login\\n{challenge}\\n{printer_id}\\n{action}"

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
        "from them stop working within seconds. Needs the `admin` role and the "
        "`users:write` scope.",
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
        description="The token gets no access token from now on, and the access tokens "
        "already issued from it stop working within seconds. Publishes `api_token.revoked`; "
        "revoking a revoked token changes nothing. Needs the `admin` role and `users:write`.",
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
    Operation(
        "POST",
        "/v1/device-token",
        "Get a device access token for a signed timestamp (devices; no bearer token)",
        TAG,
        {200: DeviceTokenAnswer},
        body=DeviceTokenRequest,
        errors=(400, 401, 413, 415, 422),
        public=True,
        operation_id="issueDeviceToken",
        description="""\
A printer or connector proves its key: it signs the UTF-8 bytes
`printcloud-device-token\\n{device_id}\\n{timestamp}` (unix seconds) with its private key
(Ed25519, or ECDSA P-256 with SHA-256 as raw `r || s` or DER) and sends the signature
base64url. The timestamp must be within 60 s of the server's clock and greater than the
last one this device used, so a captured request never works twice. The key is the one
of the device's current, unrevoked credential.

The answer is a short-lived (default 10 minutes) JWT signed like users' access tokens,
verified offline by every service: `sub` and `client_id` are the device id, `tenant_id`
its tenant, `roles` `["device"]`, `scope` `device`, and `device` is
`{"kind": "printer"|"connector", "fingerprint": ...}`. A device token never passes a
user's role or scope.""",
        descriptions={
            200: "A device access token (`Cache-Control: no-store`).",
            401: "Unknown device or a signature its key did not make (`device-refused`); the "
            "credential is revoked (`device-revoked`); the timestamp is too far from the "
            "server's clock (`clock-skew`) or not greater than the last one used "
            "(`replayed-timestamp`).",
        },
        response_headers={200: {"Cache-Control": "`no-store`."}},
        example={
            "device_id": "0b9c3f1e-3a4d-4f5e-8a6b-7c8d9e0f1a2b",
            "timestamp": 1767225600,
            "signature": "q3J6bW9yZS1ieXRlcy10aGFuLXRoaXMtaW4tYS1yZWFsLXNpZ25hdHVyZQ",
        },
    ),
    Operation(
        "POST",
        "/v1/devices/me/login-challenges",
        "Get a one-time login challenge to show as a QR code (device token)",
        TAG,
        {201: LoginChallengeAnswer},
        body=RequestLoginChallenge,
        errors=(400, 401, 403, 404, 413, 415, 422),
        operation_id="createLoginChallenge",
        description="""\
Device token only. A printer asks for itself (the body may be empty or `{}`); a connector
names a printer it bridges. The challenge is 32 random bytes, single use, valid for
`expires_at` (default 120 s); auth stores only its SHA-256. Show `qr_payload` as a QR
code: `printcloud-login:` followed by base64url of the JSON
`{"u": <public API base URL>, "p": <printer id>, "c": <challenge>, "e": <expiry, unix s>}`.
A phone that scans it approves the login at `POST /v1/device-logins`.""",
        descriptions={
            201: "The challenge and the QR payload.",
            401: "The device's credential is revoked (`device-revoked`).",
            403: "Not a device token (`forbidden`).",
            404: "The printer is not the calling printer, nor one the calling connector "
            "bridges (`printer-not-found`, field `printer_id`).",
            422: "A connector gave no `printer_id`.",
        },
        example={"printer_id": "0b9c3f1e-3a4d-4f5e-8a6b-7c8d9e0f1a2b"},
    ),
    Operation(
        "PUT",
        "/v1/devices/me/e2e-key",
        "Publish the printer's ephemeral end-to-end key, signed with its device key",
        TAG,
        {200: E2EKeyView},
        body=PublishE2EKey,
        errors=BODY_ERRORS,
        operation_id="publishE2EKey",
        description="""\
Device token of a printer only. The printer makes an X25519 key pair in memory and
offers its public half, signing the UTF-8 bytes
`printcloud-e2e-key:v1\\n{device_id}\\n{key_id}\\n{public_key}\\n{expires_at}` with its
device key (as for the device token). Auth checks the signature with the device key it
holds and keeps the offer as the printer's current one (replacing the one before);
senders fetch it with `GET /v1/devices/{device_id}/e2e-key` and check the signature
themselves. See docs/e2e.md.""",
        descriptions={
            200: "The offer as senders will see it.",
            401: "The device's credential is revoked (`device-revoked`).",
            403: "Not a device token (`forbidden`).",
            422: "The signature does not verify with the device key, the offer is valid "
            "for longer than a week, or the caller is a connector (`validation-failed`).",
        },
        example={
            "key_id": "5b0c7e52-0f5c-4d8a-9d55-0f0e7e0c1a2b",
            "public_key": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo",
            "expires_at": 1767312000,
            "signature": "q3J6bW9yZS1ieXRlcy10aGFuLXRoaXMtaW4tYS1yZWFsLXNpZ25hdHVyZQ",
        },
    ),
    Operation(
        "GET",
        "/v1/devices/{device_id}/e2e-key",
        "A printer's current end-to-end key offer, with the device key that signed it",
        TAG,
        {200: E2EKeyView},
        errors=READ_ERRORS,
        operation_id="getE2EKey",
        description="""\
For the people of the printer's tenant (`jobs:submit`). The answer carries the device
key auth holds for the printer: a sender verifies `signature` over the offer with it
before encrypting a document to `public_key` (`printcloud print --protect` does).""",
        descriptions={
            404: "The printer published no current key (it is not running, the offer "
            "expired, its credential is revoked) or is not of the caller's tenant "
            "(`e2e-key-not-found`).",
        },
    ),
    Operation(
        "POST",
        "/v1/device-logins",
        "Approve a login at a printer with a phone's signature (no bearer token)",
        TAG,
        {201: DeviceLoginAnswer},
        body=ApproveDeviceLogin,
        errors=(400, 401, 403, 409, 410, 413, 415, 422),
        public=True,
        operation_id="approveDeviceLogin",
        description=f"""\
What a phone app calls after scanning a printer's QR code; the signature is the proof.
The phone signs the UTF-8 bytes `{_SIGNED_LOGIN}` with the private key of its registered
phone key (ECDSA P-256 with SHA-256, DER signature; or Ed25519) and sends it base64url.

On success the challenge is used up and, in the same transaction, `device.login_approved`
is published on `auth.device-logins` (session id, tenant, printer, user, display name,
action, approval time and `expires_at`, default 5 minutes later): the user's session is
open at that printer (`open_session`: their secure-release jobs may print; `release_all`:
their held pull-print jobs are also released to it). A refusal changes nothing except
the challenge's count of failed attempts; after 5 failures the challenge is dead.
`printcloud phone approve <code>` does exactly this from a terminal.""",
        descriptions={
            201: "The session opened at the printer.",
            401: "No such challenge (`unknown-challenge`), no such phone key (`unknown-key`), "
            "or a signature that key did not make over this challenge, printer and action "
            "(`bad-signature`).",
            403: "The challenge was shown by another printer (`wrong-printer`), the key is "
            "revoked (`key-revoked`), the printer belongs to another tenant than the key's "
            "user (`foreign-printer`), or the user is disabled (`user-disabled`).",
            409: "The challenge was used already (`challenge-used`).",
            410: "The challenge has expired (`challenge-expired`) or had too many failed "
            "attempts (`challenge-exhausted`).",
        },
        response_headers={201: {"Cache-Control": "`no-store`."}},
        example={
            "key_id": "5f0c6d7e-8a9b-4c1d-9e2f-3a4b5c6d7e8f",
            "challenge": "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "printer_id": "0b9c3f1e-3a4d-4f5e-8a6b-7c8d9e0f1a2b",
            "action": "release_all",
            "signature": "MEUCIQD-ZXhhbXBsZS1zaWduYXR1cmUtb25seQ",
        },
    ),
    Operation(
        "POST",
        "/v1/users/me/phone-keys",
        "Register a phone key for yourself",
        TAG,
        {201: PhoneKeyView},
        body=RegisterPhoneKey,
        errors=(400, 401, 403, 409, 413, 415, 422),
        operation_id="registerPhoneKey",
        description="A person's access token with the `jobs:submit` scope (a phone key lets "
        "its holder open sessions and release jobs at printers). The public key is PEM "
        "(`BEGIN PUBLIC KEY`) or base64url of the SubjectPublicKeyInfo DER, and must be of "
        "`algorithm`. One key proves one user only. `printcloud phone register` does this.",
        descriptions={
            201: "The registered key.",
            403: "Not a person's token with `jobs:submit` (a device token never is) (`forbidden`).",
            409: "The key is registered already (`duplicate-phone-key`, field `public_key`), "
            "or the user has the most active keys allowed (`too-many-phone-keys`).",
            422: "The key is not an Ed25519 or P-256 public key (field `public_key`) or not "
            "of the given algorithm (field `algorithm`).",
        },
        response_headers={201: {"Location": "`/v1/users/me/phone-keys/{key_id}`."}},
        example={
            "public_key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE...",
            "algorithm": "ecdsa-p256",
            "label": "Ada's Pixel",
        },
    ),
    Operation(
        "GET",
        "/v1/users/me/phone-keys",
        "List your phone keys",
        TAG,
        {200: PhoneKeyList},
        errors=(401, 403),
        operation_id="listMyPhoneKeys",
        description="Revoked keys included, oldest first. Needs the `jobs:read` scope.",
        descriptions={200: "Your phone keys."},
    ),
    Operation(
        "DELETE",
        "/v1/users/me/phone-keys/{key_id}",
        "Revoke one of your phone keys",
        TAG,
        {204: "The key is revoked (revoking it again changes nothing)."},
        errors=READ_ERRORS,
        operation_id="revokeMyPhoneKey",
        description="The key approves no login from now on. Needs `jobs:submit`.",
        descriptions={404: _NO_PHONE_KEY},
    ),
    Operation(
        "GET",
        "/v1/users/{user_id}/phone-keys",
        "List a user's phone keys",
        TAG,
        {200: PhoneKeyList},
        errors=READ_ERRORS,
        operation_id="listPhoneKeys",
        description="Revoked keys included, oldest first. Needs the `admin` role and the "
        "`users:read` scope.",
        descriptions={200: "The user's phone keys.", 404: _NO_USER},
    ),
    Operation(
        "DELETE",
        "/v1/users/{user_id}/phone-keys/{key_id}",
        "Revoke a user's phone key",
        TAG,
        {204: "The key is revoked (revoking it again changes nothing)."},
        errors=READ_ERRORS,
        operation_id="revokePhoneKey",
        description="Needs the `admin` role and the `users:write` scope. Deleting a user "
        "revokes all their phone keys.",
        descriptions={404: f"{_NO_USER[:-1]}; or {_NO_PHONE_KEY[0].lower()}{_NO_PHONE_KEY[1:]}"},
    ),
    Operation(
        "POST",
        "/v1/passkey-challenges",
        "A challenge to sign in with a passkey",
        TAG,
        {200: WebAuthnOptions},
        errors=(),
        public=True,
        operation_id="passkeySignInOptions",
        description="Options for `navigator.credentials.get()` (any passkey of this "
        "relying party); the challenge is single use and short-lived. No bearer token.",
        descriptions={200: "The request options."},
    ),
    Operation(
        "POST",
        "/v1/passkey-logins",
        "Sign in with a passkey (no bearer token)",
        TAG,
        {200: AccessToken},
        body=PasskeyLogin,
        errors=(400, 401, 413, 415, 422),
        public=True,
        operation_id="passkeyLogin",
        description="The browser's assertion for a challenge of `POST "
        "/v1/passkey-challenges`, verified against the user's registered passkey (origin, "
        "relying party, signature, counter). The access token carries every scope of the "
        "user's roles.",
        descriptions={
            200: "An access token of the passkey's user.",
            401: "Unknown, used or expired challenge, unknown or revoked passkey, "
            "disabled user, or a signature that does not verify (`passkey-refused`).",
        },
    ),
    Operation(
        "POST",
        "/v1/users/me/passkey-options",
        "A challenge to register a passkey",
        TAG,
        {200: WebAuthnOptions},
        errors=(401, 403),
        operation_id="passkeyRegistrationOptions",
        description="Options for `navigator.credentials.create()` for the calling person "
        "(a discoverable credential; keys already registered are excluded).",
        descriptions={200: "The creation options."},
    ),
    Operation(
        "POST",
        "/v1/users/me/passkeys",
        "Register a passkey for yourself",
        TAG,
        {201: PasskeyView},
        body=RegisterPasskey,
        errors=(400, 401, 403, 404, 409, 413, 415, 422),
        operation_id="registerPasskey",
        description="The browser's attestation for a challenge of `POST "
        "/v1/users/me/passkey-options`.",
        descriptions={
            201: "The registered passkey.",
            409: "Registered already (`duplicate-passkey`) or too many (`too-many-passkeys`).",
            422: "The attestation does not verify (field `credential`).",
        },
        response_headers={201: {"Location": "`/v1/users/me/passkeys/{passkey_id}`."}},
    ),
    Operation(
        "GET",
        "/v1/users/me/passkeys",
        "List your passkeys",
        TAG,
        {200: PasskeyList},
        errors=(401, 403),
        operation_id="listMyPasskeys",
        description="Revoked ones included, oldest first.",
        descriptions={200: "Your passkeys."},
    ),
    Operation(
        "DELETE",
        "/v1/users/me/passkeys/{passkey_id}",
        "Revoke one of your passkeys",
        TAG,
        {204: "Revoked (or revoked already)."},
        errors=(401, 403, 404),
        operation_id="revokeMyPasskey",
        descriptions={404: "No such passkey of yours (`passkey-not-found`)."},
    ),
    Operation(
        "GET",
        "/v1/identity-providers/{tenant_id}",
        "The identity provider a tenant's people sign in with",
        TAG,
        {200: SignInProvider},
        errors=(404,),
        public=True,
        operation_id="getSignInProvider",
        description="The issuer and client id a sign-in page sends the person to (OpenID "
        "Connect authorization code flow with PKCE). No bearer token.",
        descriptions={404: _NO_PROVIDER},
    ),
    Operation(
        "POST",
        "/v1/oidc-logins",
        "Sign in through the tenant's identity provider (no bearer token)",
        TAG,
        {200: AccessToken},
        body=OidcLogin,
        errors=(400, 401, 404, 413, 415, 422),
        public=True,
        operation_id="oidcLogin",
        description="Auth redeems the authorization code at the provider's token endpoint "
        "(with the PKCE verifier and the client secret), verifies the ID token against the "
        "provider's keys (issuer, audience, nonce, lifetime), provisions the person on their "
        "first sign-in (matched by issuer and subject; `user.created`) or updates their "
        "roles and email (`user.updated`), and returns an access token of their roles.",
        descriptions={
            200: "An access token of the signed-in person.",
            401: "The ID token does not verify, grants no role, or names a disabled user "
            "(`sign-in-refused`; the detail says which).",
            404: _NO_PROVIDER,
        },
    ),
    Operation(
        "PUT",
        "/v1/identity-provider",
        "Set your tenant's identity provider",
        TAG,
        {200: IdentityProviderView},
        body=ConfigureProvider,
        errors=(400, 401, 403, 413, 415, 422),
        operation_id="putIdentityProvider",
        description="Replaces the tenant's OpenID Connect provider. The client secret is "
        "sealed at rest and never shown again. Needs the `admin` role and `users:write`.",
        descriptions={200: "The provider as set.", 422: "A field is not valid (named)."},
        example={
            "issuer": "https://login.example.com/realms/acme",
            "client_id": "printcloud-portal",
            "client_secret": "…",
            "role_claim": "groups",
            "role_map": {"print-admins": "admin", "staff": "user"},
            "default_role": None,
            "group_claim": "groups",
        },
    ),
    Operation(
        "GET",
        "/v1/identity-provider",
        "Read your tenant's identity provider",
        TAG,
        {200: IdentityProviderView},
        errors=READ_ERRORS,
        operation_id="getIdentityProvider",
        description="Needs the `admin` role and `users:read`.",
        descriptions={404: _NO_PROVIDER},
    ),
    Operation(
        "DELETE",
        "/v1/identity-provider",
        "Remove your tenant's identity provider",
        TAG,
        {204: "Removed; people sign in with passkeys or API tokens."},
        errors=READ_ERRORS,
        operation_id="deleteIdentityProvider",
        description="Needs the `admin` role and `users:write`.",
        descriptions={404: _NO_PROVIDER},
    ),
)
