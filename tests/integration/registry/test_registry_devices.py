"""The registry learns capabilities and presence from the gateway's topics."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from shared.events.contracts.gateway import (
    DeviceConnected,
    DeviceDisconnected,
)
from shared.printing.capabilities import Capabilities
from tests.support.kafka import dead_letters
from tests.support.registry import CAPS, T0, Devices, RegistryFactory, capabilities_report
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
TOKEN = "op-" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def devices(registry_app: RegistryFactory, bootstrap: str) -> AsyncIterator[Devices]:
    async with registry_app(TOKEN) as reg:
        yield Devices(reg.client, bootstrap, reg.schema, AUTH)


async def test_capabilities_are_versioned_only_when_they_change(devices: Devices) -> None:
    p = await devices.printer()
    path = f"/v1/printers/{p['id']}/capabilities"
    assert (await devices.get(path))[0] == 404
    await devices.publish(capabilities_report(p))
    await devices.publish(capabilities_report(p, at=T0 + timedelta(seconds=1)))  # same document
    duplex_only = CAPS.model_copy(update={"sides_supported": ["two-sided-long-edge"]})
    await devices.publish(capabilities_report(p, duplex_only, T0 + timedelta(seconds=2)))

    async def two_versions() -> bool:
        status, body = await devices.get(path)
        return status == 200 and body["version"] == 2

    await eventually(two_versions)
    _, current = await devices.get(path)
    assert current["capabilities"]["sides_supported"] == ["two-sided-long-edge"]
    _, first = await devices.get(path + "?version=1")
    assert first["capabilities"]["media_supported"] == CAPS.media_supported
    assert (await devices.get(path + "?version=3"))[0] == 404
    assert (await devices.get(path + "?version=zero"))[0] == 422
    _, printer = await devices.get(f"/v1/printers/{p['id']}")
    assert printer["capabilities_version"] == 2


async def test_presence_follows_the_latest_session(devices: Devices) -> None:
    p = await devices.printer()
    old, new = uuid.uuid4(), uuid.uuid4()
    ids = {"device_id": p["id"], "tenant_id": p["tenant_id"], "gateway": "gw-1"}
    await devices.publish(DeviceConnected(**ids, session_id=old, at=T0))
    # The device moved to another replica: the new session connects before the
    # old socket's disconnect arrives. The printer must stay online.
    await devices.publish(DeviceConnected(**ids, session_id=new, at=T0 + timedelta(seconds=2)))
    await devices.publish(
        DeviceDisconnected(**ids, session_id=old, at=T0 + timedelta(seconds=3), reason="closed")
    )
    marker = await devices.printer()
    await devices.publish(
        DeviceConnected(
            device_id=marker["id"],
            tenant_id=marker["tenant_id"],
            gateway="gw",
            session_id=old,
            at=T0,
        )
    )

    async def marker_online() -> bool:
        return (await devices.get(f"/v1/printers/{marker['id']}"))[1][
            "connection_state"
        ] == "online"

    await eventually(marker_online)
    _, printer = await devices.get(f"/v1/printers/{p['id']}")
    assert printer["connection_state"] == "online"
    await devices.publish(
        DeviceDisconnected(**ids, session_id=new, at=T0 + timedelta(seconds=4), reason="closed")
    )

    async def offline() -> bool:
        return (await devices.get(f"/v1/printers/{p['id']}"))[1]["connection_state"] == "offline"

    await eventually(offline)


async def test_reports_for_foreign_or_unknown_printers_are_parked(devices: Devices) -> None:
    p = await devices.printer()
    foreign = capabilities_report(p).model_copy(update={"tenant_id": uuid.uuid4()})
    unknown = capabilities_report({"id": uuid.uuid4(), "tenant_id": p["tenant_id"]})
    empty = capabilities_report(p, Capabilities(document_format_supported=["application/pdf"]))
    for event in (foreign, unknown, empty):
        await devices.publish(event)
    parked = await dead_letters(
        devices.bootstrap,
        consumer=f"{devices.schema}-device-state",
        done=lambda letters: (
            sum(str(p["id"]) in d.reason or "media_supported" in d.reason for d in letters) >= 2
        ),
    )
    reasons = [d.reason for d in parked]
    assert any(f"no printer {p['id']} in tenant" in r for r in reasons)
    assert any("capabilities lack ['media_supported']" in r for r in reasons)
    assert (await devices.get(f"/v1/printers/{p['id']}/capabilities"))[0] == 404
