"""Views for passkeys: registering them (a signed-in person) and signing in with them."""

from __future__ import annotations

from aiohttp import web

from services.auth.api.context import CONTEXT, keyring, transactions
from services.auth.api.shapes import AccessToken, PasskeyList, PasskeyView, WebAuthnOptions
from services.auth.domain.commands import PasskeyLogin, RegisterPasskey
from services.auth.handlers import passkeys
from services.auth.handlers.phone import own_user_id
from shared.http.body import parse_json, path_uuid
from shared.http.middleware import caller, public

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _options(document: dict[str, object]) -> web.Response:
    body = WebAuthnOptions.model_validate({"publicKey": document}).model_dump(
        mode="json", by_alias=True
    )
    return web.json_response(body, headers=NO_STORE)


async def registration_options(request: web.Request) -> web.Response:
    """POST /v1/users/me/passkey-options: a registration challenge for the caller."""
    user_id = own_user_id(caller(request, "jobs:read"))
    document = await passkeys.registration_options(
        transactions(request), user_id, CONTEXT.settings(request)
    )
    return _options(document)


async def register_my_passkey(request: web.Request) -> web.Response:
    """POST /v1/users/me/passkeys."""
    user_id = own_user_id(caller(request, "jobs:read"))
    cmd = await parse_json(request, RegisterPasskey)
    key = await passkeys.register_passkey(
        transactions(request), user_id, cmd, CONTEXT.settings(request)
    )
    body = PasskeyView.of(key).model_dump(mode="json")
    return web.json_response(
        body, status=201, headers={"Location": f"/v1/users/me/passkeys/{key.id}"}
    )


async def list_my_passkeys(request: web.Request) -> web.Response:
    """GET /v1/users/me/passkeys."""
    user_id = own_user_id(caller(request, "jobs:read"))
    async with transactions(request)() as uow:
        keys = await uow.repo.passkeys.of_user(user_id)
    return web.json_response(
        PasskeyList(items=[PasskeyView.of(k) for k in keys]).model_dump(mode="json")
    )


async def revoke_my_passkey(request: web.Request) -> web.Response:
    """DELETE /v1/users/me/passkeys/{passkey_id}."""
    user_id = own_user_id(caller(request, "jobs:read"))
    await passkeys.revoke_passkey(transactions(request), user_id, path_uuid(request, "passkey_id"))
    return web.Response(status=204)


@public
async def sign_in_options(request: web.Request) -> web.Response:
    """POST /v1/passkey-challenges: a sign-in challenge (no credentials needed)."""
    return _options(
        await passkeys.sign_in_options(transactions(request), CONTEXT.settings(request))
    )


@public
async def passkey_login(request: web.Request) -> web.Response:
    """POST /v1/passkey-logins: an access token for a passkey's assertion."""
    cmd = await parse_json(request, PasskeyLogin)
    issued = await passkeys.sign_in(
        transactions(request), keyring(request), cmd, CONTEXT.settings(request)
    )
    body = AccessToken(
        access_token=issued.jwt, token_type="Bearer", expires_in=issued.expires_in,
        scope=" ".join(sorted(issued.scopes)),
    )  # fmt: skip
    return web.json_response(body.model_dump(mode="json"), headers=NO_STORE)
