"""HTTP views of onboarding (registrations, claims, sheets) and connectors."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from services.registry.api.context import CONTEXT, transactions
from services.registry.domain.commands import (
    AssignConnectorDevices,
    ClaimDevice,
    RedeemRegistration,
    RelaySheet,
    StartRegistration,
)
from services.registry.domain.errors import ConnectorNotFound
from services.registry.domain.model import BridgedPrinter, Connector
from services.registry.domain.onboarding import DeviceKey, Registration, display_claim_code
from services.registry.handlers import connectors as connector_handlers
from services.registry.handlers import onboarding as handlers
from shared.crypto.encoding import b64url_decode
from shared.errors import Unauthenticated
from shared.http.body import parse_json, path_uuid
from shared.http.forwarded import client_address
from shared.http.middleware import caller, public


def _registration_json(
    r: Registration, *, with_code: bool, base: str, gateway_url: str = ""
) -> dict[str, Any]:
    status = "expired" if r.expired(datetime.now(UTC)) else r.status
    body: dict[str, Any] = {
        "registration_id": str(r.id),
        "kind": r.kind,
        "status": status,
        "fingerprint": r.key.fingerprint,
        "expires_at": r.expires_at.isoformat(),
        "poll_url": f"/v1/registrations/{r.id}",
    }
    if with_code and r.status == "pending":
        code = display_claim_code(r.claim_code)
        body["claim_code"] = code
        body["claim_url"] = f"{base.rstrip('/')}/claim?code={code}"
    if r.status == "claimed":
        body["device_id"] = str(r.device_id)
        body["tenant_id"] = str(r.tenant_id)
        if gateway_url:
            body["gateway_url"] = gateway_url
            body["api_url"] = base  # the public base URL for the device's HTTP calls
    return body


def _key_proof(request: web.Request) -> tuple[int | None, bytes | None]:
    """The optional proof of the device key sent with a registration."""
    try:
        timestamp = int(request.headers["X-Printcloud-Timestamp"])
        signature = b64url_decode(request.headers["X-Printcloud-Signature"])
    except (KeyError, ValueError):
        return None, None
    return timestamp, signature


@public
async def start_registration(request: web.Request) -> web.Response:
    """POST /v1/registrations: a device without credentials asks to join (rate limited per
    real client). The claim code is in the answer only when the request is signed with
    the device's key; anyone else presenting the (public) key learns no code."""
    cmd = await parse_json(request, StartRegistration)
    settings = CONTEXT.settings(request)
    source = client_address(request, settings.trusted_proxies) or "unknown"
    r, created = await handlers.start_registration(transactions(request), cmd, source, settings)
    timestamp, signature = _key_proof(request)
    holder = handlers.proves_key(r.key, timestamp, signature, settings)
    return web.json_response(
        _registration_json(r, with_code=holder, base=settings.public_url),
        status=201 if created else 200,
        headers={"Location": f"/v1/registrations/{r.id}"},
    )


@public
async def poll_registration(request: web.Request) -> web.Response:
    """GET /v1/registrations/{registration_id}: the device reads its registration,
    signing ``registration id`` and a timestamp with its key."""
    registration_id = path_uuid(request, "registration_id")
    try:
        timestamp = int(request.headers["X-Printcloud-Timestamp"])
        signature = b64url_decode(request.headers["X-Printcloud-Signature"])
    except (KeyError, ValueError):
        raise Unauthenticated(
            "send X-Printcloud-Timestamp and X-Printcloud-Signature (base64url)"
        ) from None
    settings = CONTEXT.settings(request)
    r = await handlers.poll_registration(
        transactions(request), registration_id, timestamp, signature, settings
    )
    return web.json_response(
        _registration_json(
            r, with_code=True, base=settings.public_url, gateway_url=settings.gateway_url
        )
    )


def _claimed_json(r: Registration) -> dict[str, Any]:
    return {
        "registration_id": str(r.id),
        "device_id": str(r.device_id),
        "tenant_id": str(r.tenant_id),
        "kind": r.kind,
        "model": r.model,
        "fingerprint": r.key.fingerprint,
        "location": f"/v1/{'printers' if r.kind == 'printer' else 'connectors'}/{r.device_id}",
    }


async def claim(request: web.Request) -> web.Response:
    """POST /v1/registrations/claim: an administrator claims a device by its code."""
    who = caller(request, "printers:write", "admin")
    cmd = await parse_json(request, ClaimDevice)
    r = await handlers.claim_device(transactions(request), cmd, who, CONTEXT.settings(request))
    body = _claimed_json(r)
    return web.json_response(body, status=201, headers={"Location": body["location"]})


async def relay(request: web.Request) -> web.Response:
    """POST /v1/registrations/relay: an administrator relays a device's sheet (the same
    sheet again answers the same claim, 200)."""
    who = caller(request, "printers:write", "admin")
    cmd = await parse_json(request, RelaySheet)
    r, created = await handlers.relay_sheet(
        transactions(request), cmd, who, CONTEXT.settings(request)
    )
    body = _claimed_json(r)
    return web.json_response(
        body, status=201 if created else 200, headers={"Location": body["location"]}
    )


@public
async def redeem_registration(request: web.Request) -> web.Response:
    """POST /v1/registrations/redeem: a device claimed while it could not reach the cloud
    collects its identity, signing its key's fingerprint and a timestamp."""
    cmd = await parse_json(request, RedeemRegistration)
    timestamp, signature = _key_proof(request)
    if timestamp is None or signature is None:
        raise Unauthenticated("send X-Printcloud-Timestamp and X-Printcloud-Signature (base64url)")
    settings = CONTEXT.settings(request)
    key = DeviceKey.parse(cmd.public_key)
    r = await handlers.redeem_registration(
        transactions(request), key, timestamp, signature, settings
    )
    return web.json_response(
        _registration_json(
            r, with_code=False, base=settings.public_url, gateway_url=settings.gateway_url
        )
    )


def _connector_json(c: Connector, devices: list[BridgedPrinter]) -> dict[str, Any]:
    body = {k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if k.endswith("id") else v)
            for k, v in asdict(c).items()}  # fmt: skip
    body["devices"] = [
        {"printer_id": str(d.printer_id), "uri": d.uri, "name": d.name, "files_uri": d.files_uri}
        for d in devices
    ]
    return body


async def get_connector(request: web.Request) -> web.Response:
    """GET /v1/connectors/{connector_id}: the connector and the printers it bridges."""
    who = caller(request, "printers:read")  # before the lookup: no existence leak
    connector_id = path_uuid(request, "connector_id")
    async with transactions(request)() as uow:
        connector = await uow.repo.connectors.get(connector_id)
        if connector is None or not who.can_access(connector.tenant_id):
            raise ConnectorNotFound("no such connector")
        devices = await uow.repo.connectors.devices(connector_id)
    return web.json_response(_connector_json(connector, devices))


async def assign_devices(request: web.Request) -> web.Response:
    """PUT /v1/connectors/{connector_id}/devices: the whole list of bridged printers."""
    who = caller(request, "printers:write", "admin")
    connector_id = path_uuid(request, "connector_id")
    cmd = await parse_json(request, AssignConnectorDevices)
    connector, devices = await connector_handlers.assign_devices(
        transactions(request), connector_id, cmd, who
    )
    return web.json_response(_connector_json(connector, devices))
