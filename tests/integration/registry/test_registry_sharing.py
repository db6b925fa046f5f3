"""Sharing at the registry, over real HTTP with real Kafka and Postgres: administrators
share printers and virtual printers with users and groups (announced with the full
sharing); a person sees only what is shared with them (through nested groups too, as
auth.groups announces them), and what is not is not found (404, never 403)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from shared.events.contracts.groups import GroupCreated, GroupUpdated
from shared.testing.fixtures import unique
from tests.support.kafka import envelopes, publish
from tests.support.registry import RegistryFactory
from tests.support.tokens import FakeIssuer, Signer, trusting
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration
TOKEN = "op-" + uuid.uuid4().hex
OP = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Rig:
    client: TestClient
    signer: Signer
    bootstrap: str
    tenant: str

    def person(self, user_id: uuid.UUID, *roles: str) -> dict[str, str]:
        token = self.signer.token(
            sub=str(user_id), tenant_id=self.tenant, roles=list(roles or ["user"]),
            scope="printers:read printers:write",
        )  # fmt: skip
        return {"Authorization": f"Bearer {token}"}

    async def printer(self, name: str) -> str:
        body = {"tenant_id": self.tenant, "name": name, "model": "M", "region": "eu-west"}
        r = await self.client.post("/v1/printers", json=body, headers=OP)
        assert r.status == 201, await r.text()
        return str((await r.json())["id"])

    async def group(
        self, users: list[uuid.UUID], groups: list[uuid.UUID] | None = None,
        group_id: uuid.UUID | None = None, revision: int = 1,
    ) -> uuid.UUID:  # fmt: skip
        group_id = group_id or uuid.uuid4()
        state: dict[str, Any] = {
            "group_id": group_id, "tenant_id": uuid.UUID(self.tenant), "revision": revision,
            "name": unique("g"), "source": "local", "member_user_ids": sorted(users),
            "member_group_ids": sorted(groups or []),
        }  # fmt: skip
        event = GroupCreated(**state) if revision == 1 else GroupUpdated(**state, changed=["x"])
        await publish(self.bootstrap, event, tenant_id=uuid.UUID(self.tenant))
        return group_id

    async def ids(self, path: str, headers: dict[str, str]) -> set[str]:
        r = await self.client.get(path, headers=headers)
        assert r.status == 200, await r.text()
        return {item["id"] for item in (await r.json())["items"]}


@pytest.fixture
async def rig(registry_app: RegistryFactory, bootstrap: str) -> AsyncIterator[Rig]:
    signer = Signer()
    async with registry_app(TOKEN, authenticator=trusting(FakeIssuer(signer), TOKEN)) as reg:
        r = await reg.client.post("/v1/tenants", json={"name": unique("T")}, headers=OP)
        yield Rig(reg.client, signer, bootstrap, (await r.json())["id"])


async def test_a_person_sees_only_what_is_shared_with_them(rig: Rig) -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()
    admin = rig.person(uuid.uuid4(), "admin")
    narrowed, everyone = await rig.printer("Finance"), await rig.printer("Lobby")
    inner = await rig.group([ann])
    outer = await rig.group([], [inner])
    body = {"tenant": False, "group_ids": [str(outer)]}

    async def shared() -> bool:
        r = await rig.client.put(f"/v1/printers/{narrowed}/sharing", json=body, headers=admin)
        return r.status == 200  # 422 until the registry has learnt the group

    await eventually(shared)
    r = await rig.client.get(f"/v1/printers/{narrowed}/sharing", headers=admin)
    answer = await r.json()
    assert answer["shared_with"] == {"tenant": False, "user_ids": [], "group_ids": [str(outer)]}
    assert answer["revision"] == 1

    assert await rig.ids("/v1/printers", rig.person(ann)) == {narrowed, everyone}
    assert await rig.ids("/v1/printers", rig.person(bob)) == {everyone}
    assert await rig.ids("/v1/printers", admin) == {narrowed, everyone}
    for path in (f"/v1/printers/{narrowed}", f"/v1/printers/{narrowed}/capabilities"):
        hidden = await rig.client.get(path, headers=rig.person(bob))
        missing = await rig.client.get(path.replace(narrowed, str(uuid.uuid4())),
                                       headers=rig.person(bob))  # fmt: skip
        assert hidden.status == missing.status == 404
        assert (await hidden.json())["detail"] == (await missing.json())["detail"]
    assert (await rig.client.get(f"/v1/printers/{narrowed}", headers=rig.person(ann))).status == 200

    # Ann leaves the inner group: the printer disappears for her too.
    await rig.group([], group_id=inner, revision=2)

    async def gone() -> bool:
        return await rig.ids("/v1/printers", rig.person(ann)) == {everyone}

    await eventually(gone)
    events = await envelopes(rig.bootstrap, "registry.printers", key=narrowed, count=2)
    assert [e["type"] for e in events] == ["printer.registered", "printer.sharing_changed"]
    assert events[1]["data"]["shared_with"]["group_ids"] == [str(outer)]


async def test_virtual_printers_are_shared_by_user_and_bad_sharing_changes_nothing(
    rig: Rig,
) -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()
    admin = rig.person(uuid.uuid4(), "admin")
    member = await rig.printer("Member")
    body = {"tenant_id": rig.tenant, "name": "Follow me", "members": [member]}
    vp = (await (await rig.client.post("/v1/virtual-printers", json=body, headers=OP)).json())["id"]
    path = f"/v1/virtual-printers/{vp}/sharing"
    bad = await rig.client.put(
        path, json={"tenant": False, "group_ids": [str(uuid.uuid4())]}, headers=admin
    )
    assert bad.status == 422 and bad.content_type == "application/problem+json"
    assert (await bad.json())["errors"][0]["field"] == "group_ids.0"
    extra = await rig.client.put(path, json={"everyone": True}, headers=admin)
    assert extra.status == 422
    assert (await (await rig.client.get(path, headers=admin)).json())["revision"] == 0

    ok = await rig.client.put(path, json={"tenant": False, "user_ids": [str(ann)]}, headers=admin)
    assert (await ok.json())["revision"] == 1
    assert await rig.ids("/v1/virtual-printers", rig.person(ann)) == {vp}
    assert await rig.ids("/v1/virtual-printers", rig.person(bob)) == set()
    hidden = await rig.client.get(f"/v1/virtual-printers/{vp}", headers=rig.person(bob))
    assert hidden.status == 404
    # Only administrators read or change sharing.
    assert (await rig.client.put(path, json={}, headers=rig.person(ann))).status == 403
    back = await rig.client.put(path, json={"tenant": True}, headers=admin)
    assert (await back.json())["revision"] == 2
    assert await rig.ids("/v1/virtual-printers", rig.person(bob)) == {vp}
