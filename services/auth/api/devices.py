"""Views for device access tokens, phone keys and phone logins at printers."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel

from services.auth.api.context import CONTEXT, admin, keyring, transactions
from services.auth.api.shapes import (
    DeviceLoginAnswer,
    DeviceTokenAnswer,
    E2EKeyView,
    LoginChallengeAnswer,
    PhoneKeyList,
    PhoneKeyView,
)
from services.auth.domain.commands import (
    ApproveDeviceLogin,
    DeviceTokenRequest,
    PublishE2EKey,
    RegisterPhoneKey,
    RequestLoginChallenge,
)
from services.auth.handlers import devices, e2e, phone, users
from shared.http.auth import DEVICE_ROLE, DEVICE_SCOPE
from shared.http.body import parse_json, path_uuid
from shared.http.middleware import caller, public

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _json(
    model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(model.model_dump(mode="json"), status=status, headers=headers)


# --------------------------------------------------------------------------- devices


@public
async def issue_device_token(request: web.Request) -> web.Response:
    """POST /v1/device-token: a device access token for a timestamp signed by the device."""
    cmd = await parse_json(request, DeviceTokenRequest)
    issued = await devices.issue_device_token(
        transactions(request), keyring(request), cmd, CONTEXT.settings(request)
    )
    answer = DeviceTokenAnswer(access_token=issued.jwt, expires_in=issued.expires_in)
    return _json(answer, headers=NO_STORE)


async def create_login_challenge(request: web.Request) -> web.Response:
    """POST /v1/devices/me/login-challenges: a one-time challenge to show as a QR code."""
    who = caller(request, DEVICE_SCOPE, DEVICE_ROLE)
    if request.can_read_body:
        cmd = await parse_json(request, RequestLoginChallenge)
    else:
        cmd = RequestLoginChallenge()
    issued = await devices.issue_login_challenge(
        transactions(request), who, cmd, CONTEXT.settings(request)
    )
    answer = LoginChallengeAnswer(
        challenge=issued.challenge,
        printer_id=issued.record.printer_id,
        expires_at=issued.record.expires_at,
        qr_payload=issued.qr_payload,
    )
    return _json(answer, 201, NO_STORE)


async def publish_e2e_key(request: web.Request) -> web.Response:
    """PUT /v1/devices/me/e2e-key: the printer's ephemeral key offer, signed."""
    who = caller(request, DEVICE_SCOPE, DEVICE_ROLE)
    cmd = await parse_json(request, PublishE2EKey)
    published = await e2e.publish_e2e_key(transactions(request), who, cmd)
    return _json(E2EKeyView.of(published.offer, published.credential))


async def get_e2e_key(request: web.Request) -> web.Response:
    """GET /v1/devices/{device_id}/e2e-key: a printer's current key offer."""
    who = caller(request, "jobs:submit")
    published = await e2e.e2e_key_of(transactions(request), who, path_uuid(request, "device_id"))
    return _json(E2EKeyView.of(published.offer, published.credential), headers=NO_STORE)


# --------------------------------------------------------------------------- phone logins


@public
async def approve_device_login(request: web.Request) -> web.Response:
    """POST /v1/device-logins: a phone's signed approval of a printer's challenge."""
    cmd = await parse_json(request, ApproveDeviceLogin)
    approval = await phone.approve_login(transactions(request), cmd, CONTEXT.settings(request))
    answer = DeviceLoginAnswer.model_validate(approval.event.model_dump())
    return _json(answer, 201, NO_STORE)


# --------------------------------------------------------------------------- phone keys


async def register_my_phone_key(request: web.Request) -> web.Response:
    """POST /v1/users/me/phone-keys."""
    who = caller(request, "jobs:submit")
    user_id = phone.own_user_id(who)
    cmd = await parse_json(request, RegisterPhoneKey)
    key = await phone.register_phone_key(
        transactions(request), user_id, cmd, CONTEXT.settings(request)
    )
    location = {"Location": f"/v1/users/me/phone-keys/{key.id}"}
    return _json(PhoneKeyView.of(key), 201, location)


async def list_my_phone_keys(request: web.Request) -> web.Response:
    """GET /v1/users/me/phone-keys."""
    user_id = phone.own_user_id(caller(request, "jobs:read"))
    async with transactions(request)() as uow:
        keys = await uow.repo.phone_keys.of_user(user_id)
    return _json(PhoneKeyList(items=[PhoneKeyView.of(k) for k in keys]))


async def revoke_my_phone_key(request: web.Request) -> web.Response:
    """DELETE /v1/users/me/phone-keys/{key_id}."""
    user_id = phone.own_user_id(caller(request, "jobs:submit"))
    key_id = path_uuid(request, "key_id")
    await phone.revoke_phone_key(transactions(request), user_id, key_id)
    return web.Response(status=204)


async def list_phone_keys(request: web.Request) -> web.Response:
    """GET /v1/users/{user_id}/phone-keys (administrators of the user's tenant)."""
    who = admin(request, "users:read")
    user_id = path_uuid(request, "user_id")
    async with transactions(request)() as uow:
        user = await users.visible_user(uow.repo, user_id, who)
        keys = await uow.repo.phone_keys.of_user(user.id)
    return _json(PhoneKeyList(items=[PhoneKeyView.of(k) for k in keys]))


async def revoke_phone_key(request: web.Request) -> web.Response:
    """DELETE /v1/users/{user_id}/phone-keys/{key_id} (administrators of the user's tenant)."""
    who = admin(request, "users:write")
    user_id = path_uuid(request, "user_id")
    key_id = path_uuid(request, "key_id")
    tx = transactions(request)
    async with tx() as uow:
        user = await users.visible_user(uow.repo, user_id, who)
    await phone.revoke_phone_key(tx, user.id, key_id)
    return web.Response(status=204)
