"""Groups over real HTTP, with auth's real schema and the real broker: the API, the
events on auth.groups (the full state, in order), tenant isolation, and bad input
(unknown or circular members) refused naming the field and changing nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from shared.testing.fixtures import ServiceDbFactory
from tests.support.auth import OPERATOR, auth_client, create_user, login, problem
from tests.support.kafka import envelopes

pytestmark = pytest.mark.integration
ADMIN_SCOPES = ["users:read", "users:write"]


@pytest.fixture(scope="module")
async def client(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[TestClient]:
    async with auth_client(service_db, bootstrap) as c:
        yield c


async def test_an_admin_manages_nested_groups_and_each_change_is_announced(
    client: TestClient, bootstrap: str
) -> None:
    tenant = str(uuid.uuid4())
    _, headers = await login(client, tenant, ["admin"], ADMIN_SCOPES)
    ann = await create_user(client, tenant, ["user"])
    resp = await client.post("/v1/groups", json={"name": "Finance"}, headers=headers)
    assert resp.status == 201, await resp.text()
    inner = await resp.json()
    assert resp.headers["Location"] == f"/v1/groups/{inner['id']}"
    body = {"name": "Staff", "member_user_ids": [ann["id"]], "member_group_ids": [inner["id"]]}
    outer = await (await client.post("/v1/groups", json=body, headers=headers)).json()
    assert (outer["source"], outer["member_group_ids"]) == ("local", [inner["id"]])

    resp = await client.patch(
        f"/v1/groups/{inner['id']}",
        json={"member_user_ids": [ann["id"]], "revision": 1},
        headers=headers,
    )
    assert (await resp.json())["revision"] == 2
    stale = await client.patch(
        f"/v1/groups/{inner['id']}", json={"name": "F", "revision": 1}, headers=headers
    )
    assert stale.status == 409 and (await problem(stale))["code"] == "stale-group"
    listed = await (await client.get("/v1/groups", headers=headers)).json()
    assert {g["id"] for g in listed["items"]} == {inner["id"], outer["id"]}

    assert (await client.delete(f"/v1/groups/{inner['id']}", headers=headers)).status == 204
    assert (await client.get(f"/v1/groups/{inner['id']}", headers=headers)).status == 404
    events = await envelopes(bootstrap, "auth.groups", key=inner["id"], count=3)
    assert [(e["type"], e["data"]["revision"]) for e in events] == [
        ("group.created", 1),
        ("group.updated", 2),
        ("group.deleted", 3),
    ]
    assert events[1]["data"]["member_user_ids"] == [ann["id"]]
    # Deleting the inner group took it out of the outer one first.
    (*_, last) = await envelopes(bootstrap, "auth.groups", key=outer["id"], count=2)
    assert (last["type"], last["data"]["member_group_ids"]) == ("group.updated", [])
    assert all(e["tenant_id"] == tenant for e in events)


async def test_unknown_foreign_or_circular_members_are_refused_naming_the_field(
    client: TestClient,
) -> None:
    tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
    _, headers = await login(client, tenant, ["admin"], ADMIN_SCOPES)
    foreigner = await create_user(client, other, ["user"])
    bad = await client.post(
        "/v1/groups",
        json={"name": "G", "member_user_ids": [foreigner["id"]],
              "member_group_ids": [str(uuid.uuid4())]},
        headers=headers,
    )  # fmt: skip
    assert bad.status == 422 and bad.content_type == "application/problem+json"
    assert [e["field"] for e in (await problem(bad))["errors"]] == [
        "member_user_ids",
        "member_group_ids",
    ]
    a = await (await client.post("/v1/groups", json={"name": "A"}, headers=headers)).json()
    b_body = {"name": "B", "member_group_ids": [a["id"]]}
    b = await (await client.post("/v1/groups", json=b_body, headers=headers)).json()
    for members in ([b["id"]], [a["id"]]):
        loop = await client.patch(
            f"/v1/groups/{a['id']}", json={"member_group_ids": members}, headers=headers
        )
        assert loop.status == 422
        (error,) = (await problem(loop))["errors"]
        assert error["field"] == "member_group_ids" and "cannot contain itself" in error["reason"]
    unchanged = await (await client.get(f"/v1/groups/{a['id']}", headers=headers)).json()
    assert (unchanged["revision"], unchanged["member_group_ids"]) == (1, [])
    listed = await (await client.get("/v1/groups", headers=headers)).json()
    assert {g["name"] for g in listed["items"]} == {"A", "B"}


async def test_another_tenants_group_is_not_found_and_users_cannot_manage_groups(
    client: TestClient,
) -> None:
    tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
    body = {"tenant_id": other, "name": "Theirs"}
    theirs = await (await client.post("/v1/groups", json=body, headers=OPERATOR)).json()
    _, admin = await login(client, tenant, ["admin"], ADMIN_SCOPES)
    for method in ("GET", "PATCH", "DELETE"):
        resp = await client.request(
            method, f"/v1/groups/{theirs['id']}", headers=admin,
            json={"name": "Mine"} if method == "PATCH" else None,
        )  # fmt: skip
        assert resp.status == 404 and (await problem(resp))["code"] == "group-not-found"
    _, user = await login(client, tenant, ["user"], ["jobs:submit"])
    assert (await client.get("/v1/groups", headers=user)).status == 403
