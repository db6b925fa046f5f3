"""What the device-token and phone-login tests share: devices claimed through the
registry's topic, device access tokens, users with phone keys. (No tests here.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shared.crypto.device_token import device_token_request
from shared.crypto.encoding import b64url_encode
from shared.crypto.keys import fingerprint, key_algorithm, spki_der
from shared.crypto.signatures import PrivateKey
from shared.events.contracts.devices import ConnectorDevicesChanged, DeviceClaimed
from shared.protocols.phone import generate_phone_key, public_key_text
from shared.service import RUNTIME
from tests.support.auth import OPERATOR, bearer, login
from tests.support.kafka import publish
from tests.support.waiting import eventually

USER_SCOPES = ["printers:read", "jobs:read", "jobs:submit"]


async def claimed_device(
    auth: TestClient,
    bootstrap: str,
    tenant: uuid.UUID,
    kind: str = "printer",
    key: PrivateKey | None = None,
) -> tuple[uuid.UUID, PrivateKey]:
    """A device claimed for ``tenant`` (device.claimed on the registry's topic), once auth
    holds its credential."""
    private = key or ed25519.Ed25519PrivateKey.generate()
    der = spki_der(private.public_key())
    claim = DeviceClaimed(
        device_id=uuid.uuid4(),
        tenant_id=tenant,
        subject_type=kind,  # type: ignore[arg-type]
        public_key=b64url_encode(der),
        key_algorithm=key_algorithm(private.public_key()),
        fingerprint=fingerprint(der),
        model="LaserJet 9",
        claimed_at=datetime.now(UTC),
    )
    await publish(bootstrap, claim, source="registry", tenant_id=tenant, client_id="test-registry")

    async def known() -> bool:
        resp = await auth.get(f"/v1/device-credentials/{claim.device_id}", headers=OPERATOR)
        return resp.status == 200

    await eventually(known)
    return claim.device_id, private


async def bridged(
    auth: TestClient,
    bootstrap: str,
    connector_id: uuid.UUID,
    tenant: uuid.UUID,
    printers: list[uuid.UUID],
    revision: int = 2,
) -> None:
    """The registry says the connector bridges ``printers``; returns once auth knows."""
    change = ConnectorDevicesChanged(
        connector_id=connector_id,
        tenant_id=tenant,
        revision=revision,
        devices=[{"printer_id": str(p), "uri": f"ipp://10.0.0.{i}/ipp/print"}
                 for i, p in enumerate(printers)],
    )  # fmt: skip
    await publish(bootstrap, change, source="registry", tenant_id=tenant, client_id="test-registry")

    async def applied() -> bool:
        async with auth.app[RUNTIME].pool.acquire() as conn:
            stored = await conn.fetchval(
                "SELECT revision FROM connector_printers WHERE connector_id = $1", connector_id
            )
        return stored is not None and stored >= revision

    await eventually(applied)


async def device_token(auth: TestClient, device_id: uuid.UUID, key: PrivateKey) -> str:
    """A device access token, asked for as the agent does."""
    resp = await auth.post("/v1/device-token", json=device_token_request(key, device_id))
    assert resp.status == 200, await resp.text()
    return (await resp.json())["access_token"]  # type: ignore[no-any-return]


async def challenge(
    auth: TestClient, token: str, printer_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """A login challenge asked for by a device."""
    body = {} if printer_id is None else {"printer_id": str(printer_id)}
    resp = await auth.post("/v1/devices/me/login-challenges", json=body, headers=bearer(token))
    assert resp.status == 201, await resp.text()
    return await resp.json()  # type: ignore[no-any-return]


async def phone_user(
    auth: TestClient, tenant: uuid.UUID, algorithm: str = "ecdsa-p256", **fields: Any
) -> tuple[dict[str, Any], dict[str, str], PrivateKey, str]:
    """A user of ``tenant`` with a registered phone key: (user, auth header, key, key id)."""
    user, headers = await login(auth, str(tenant), ["user"], USER_SCOPES, **fields)
    key = generate_phone_key(algorithm)  # type: ignore[arg-type]
    body = {"public_key": public_key_text(key), "algorithm": algorithm, "label": "Ada's phone"}
    resp = await auth.post("/v1/users/me/phone-keys", json=body, headers=headers)
    assert resp.status == 201, await resp.text()
    return user, headers, key, (await resp.json())["key_id"]


def p256() -> PrivateKey:
    """A new ECDSA P-256 key."""
    return ec.generate_private_key(ec.SECP256R1())
