"""Printers' end-to-end key offers: auth keeps one only when the printer's device key
signed it, and shows it (with that device key) to the people of the printer's tenant."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric import ed25519

from shared.crypto.e2e import EphemeralKey, KeyOffer, make_offer, verify_offer
from shared.crypto.encoding import b64url_decode
from shared.crypto.keys import load_public_key_bytes
from shared.testing.fixtures import ServiceDbFactory
from tests.support.auth import auth_client, bearer, login, problem
from tests.support.auth_devices import claimed_device, device_token

pytestmark = pytest.mark.integration
USER_SCOPES = ["printers:read", "jobs:read", "jobs:submit"]


@pytest.fixture(scope="module")
async def auth(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[TestClient]:
    async with auth_client(service_db, bootstrap) as c:
        yield c


def _body(offer: KeyOffer) -> dict[str, object]:
    return {k: v for k, v in offer.as_json().items() if k != "device_id"}


async def test_a_printer_publishes_its_signed_key_and_its_people_verify_it(
    auth: TestClient, bootstrap: str
) -> None:
    tenant = uuid.uuid4()
    printer_id, device_key = await claimed_device(auth, bootstrap, tenant)
    token = bearer(await device_token(auth, printer_id, device_key))
    _, ada = await login(auth, str(tenant), ["user"], USER_SCOPES)
    _, eve = await login(auth, str(uuid.uuid4()), ["user"], USER_SCOPES)
    path = f"/v1/devices/{printer_id}/e2e-key"

    resp = await auth.get(path, headers=ada)
    assert resp.status == 404 and (await problem(resp))["code"] == "e2e-key-not-found"

    offer = make_offer(device_key, printer_id, EphemeralKey.generate())
    resp = await auth.put("/v1/devices/me/e2e-key", json=_body(offer), headers=token)
    assert resp.status == 200, await resp.text()

    resp = await auth.get(path, headers=ada)
    assert resp.status == 200, await resp.text()
    view = await resp.json()
    assert KeyOffer.from_json(view) == offer
    device_public = load_public_key_bytes(b64url_decode(view["device_public_key"]))
    verify_offer(KeyOffer.from_json(view), device_public, printer_id)

    # Another tenant's people learn nothing, not even that the printer exists.
    resp = await auth.get(path, headers=eve)
    assert resp.status == 404 and (await problem(resp))["code"] == "e2e-key-not-found"
    # A person cannot publish a printer's key.
    resp = await auth.put("/v1/devices/me/e2e-key", json=_body(offer), headers=ada)
    assert resp.status == 403, await resp.text()


async def test_an_offer_the_device_key_did_not_sign_changes_nothing(
    auth: TestClient, bootstrap: str
) -> None:
    tenant = uuid.uuid4()
    printer_id, device_key = await claimed_device(auth, bootstrap, tenant)
    token = bearer(await device_token(auth, printer_id, device_key))
    _, ada = await login(auth, str(tenant), ["user"], USER_SCOPES)
    good = make_offer(device_key, printer_id, EphemeralKey.generate())
    resp = await auth.put("/v1/devices/me/e2e-key", json=_body(good), headers=token)
    assert resp.status == 200, await resp.text()

    stranger = ed25519.Ed25519PrivateKey.generate()
    forged = make_offer(stranger, printer_id, EphemeralKey.generate())
    resp = await auth.put("/v1/devices/me/e2e-key", json=_body(forged), headers=token)
    assert resp.status == 422, await resp.text()
    assert any(e["field"] == "signature" for e in (await problem(resp))["errors"])
    too_long = make_offer(device_key, printer_id, EphemeralKey.generate(ttl_s=30 * 24 * 3600))
    resp = await auth.put("/v1/devices/me/e2e-key", json=_body(too_long), headers=token)
    assert resp.status == 422, await resp.text()

    resp = await auth.get(f"/v1/devices/{printer_id}/e2e-key", headers=ada)
    assert KeyOffer.from_json(await resp.json()) == good
