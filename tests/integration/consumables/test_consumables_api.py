"""The consumables HTTP API: tenant isolation with real access tokens, problem+json for
bad input, suppliers' signed callbacks, and a malformed report parked on the
dead-letter topic."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.auth.api.routes import JWKS_PATH
from services.consumables.app import SPEC
from shared.events.envelope import new_envelope
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.support.auth import auth_client, login
from tests.support.consumables import (
    OPERATOR,
    SECRET,
    Rig,
    consumables_client,
    signed,
    supplies_report,
)
from tests.support.kafka import DeadLetter, dead_letters, publish

pytestmark = pytest.mark.integration
SCOPES = ["printers:read", "printers:write"]


@pytest.fixture(scope="module")
async def rig(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[tuple[Rig, Any]]:
    db = await service_db(unique("consumables"), SPEC.migrations_dir)
    async with auth_client(service_db, bootstrap) as auth:
        jwks = str(auth.make_url(JWKS_PATH))
        async with consumables_client(db, bootstrap, auth_jwks_url=jwks) as client:
            yield Rig(client, db, bootstrap), auth


async def _tenant(rig: Rig, auth: Any) -> dict[str, Any]:
    """A tenant with an admin, a plain user, a rule, a supplier, a printer and an order."""
    tenant = uuid.uuid4()
    _, admin = await login(auth, str(tenant), ["admin"], SCOPES)
    _, user = await login(auth, str(tenant), ["user"], ["printers:read"])
    hook = {"name": "S", "webhook_url": "https://supplies.example/hook", "secret": SECRET}
    status, supplier = await rig.post("/v1/suppliers", hook, admin)
    assert status == 201, supplier
    status, rule = await rig.post("/v1/supply-rules", {
        "region": "*", "model": "*", "colour": "*", "kind": "*", "action": "order",
        "threshold_percent": 10,
    }, admin)  # fmt: skip
    assert status == 201, rule
    assert rule["tenant_id"] == str(tenant)
    printer = await rig.printer(tenant)
    await rig.report(printer, ("ink", "cyan", 2))
    (order,) = await rig.orders(printer)
    return {"tenant": tenant, "admin": admin, "user": user, "supplier": supplier, "rule": rule,
            "printer": printer, "order": order}  # fmt: skip


async def test_a_tenant_sees_only_its_own(rig: tuple[Rig, Any]) -> None:
    r, auth = rig
    mine, theirs = await _tenant(r, auth), await _tenant(r, auth)
    me = mine["admin"]
    foreign = {
        ("GET", f"/v1/supply-rules/{theirs['rule']['id']}"),
        ("PATCH", f"/v1/supply-rules/{theirs['rule']['id']}"),
        ("DELETE", f"/v1/supply-rules/{theirs['rule']['id']}"),
        ("GET", f"/v1/suppliers/{theirs['supplier']['id']}"),
        ("GET", f"/v1/supply-orders/{theirs['order']['id']}"),
        ("POST", f"/v1/supply-orders/{theirs['order']['id']}/cancel"),
        ("POST", f"/v1/supply-orders/{theirs['order']['id']}/shipped"),
        ("POST", f"/v1/supply-orders/{theirs['order']['id']}/delivered"),
    }
    for method, path in sorted(foreign):
        body = {"threshold_percent": 50} if method == "PATCH" else None
        resp = await r.client.request(method, path, json=body, headers=me)
        missing = await r.client.request(
            method, path.replace(path.split("/")[3], str(uuid.uuid4())), json=body, headers=me
        )
        assert resp.status == missing.status == 404, (method, path, await resp.text())
        assert (await resp.json())["code"] == (await missing.json())["code"]
    # Nothing of theirs changed.
    _, their_rule = await r.get(f"/v1/supply-rules/{theirs['rule']['id']}")
    assert their_rule["threshold_percent"] == 10
    _, their_order = await r.get(f"/v1/supply-orders/{theirs['order']['id']}")
    assert their_order["state"] == "created"
    # Listings show the caller's tenant only; naming another tenant is refused.
    for path in ("/v1/supply-orders", "/v1/supply-rules", "/v1/suppliers"):
        _, page = await r.get(path, me)
        assert {i["tenant_id"] for i in page["items"]} <= {str(mine["tenant"]), None}, path
        status, problem = await r.get(f"{path}?tenant_id={theirs['tenant']}", me)
        assert status == 422 and problem["errors"][0]["field"] == "tenant_id"
    _, levels = await r.get(f"/v1/supply-levels?printer_id={theirs['printer']['printer_id']}", me)
    assert levels["items"] == [] and levels["history"] == []
    _, levels = await r.get(f"/v1/supply-levels?printer_id={mine['printer']['printer_id']}", me)
    assert [(i["kind"], i["level_percent"]) for i in levels["items"]] == [("ink", 2)]
    # Secrets are never shown.
    _, suppliers = await r.get("/v1/suppliers", me)
    assert all("secret" not in json.dumps(s) for s in suppliers["items"])


async def test_roles_and_platform_defaults(rig: tuple[Rig, Any]) -> None:
    r, auth = rig
    mine = await _tenant(r, auth)
    rule = {"region": "*", "model": "*", "colour": "black", "kind": "toner", "action": "warn",
            "threshold_percent": 5}  # fmt: skip
    assert (await r.post("/v1/supply-rules", rule, mine["user"]))[0] == 403
    cancel = f"/v1/supply-orders/{mine['order']['id']}/cancel"
    assert (await r.post(cancel, None, mine["user"]))[0] == 403
    assert (await r.get("/v1/supply-orders", mine["user"]))[0] == 200
    # Operators add platform defaults; tenants see them but may not change them.
    status, platform = await r.post("/v1/supply-rules", rule, OPERATOR)
    assert status == 201 and platform["tenant_id"] is None
    _, page = await r.get("/v1/supply-rules?limit=500", mine["admin"])
    assert platform["id"] in {i["id"] for i in page["items"]}
    resp = await r.client.delete(f"/v1/supply-rules/{platform['id']}", headers=mine["admin"])
    assert resp.status == 403
    resp = await r.client.delete(f"/v1/supply-rules/{platform['id']}", headers=OPERATOR)
    assert resp.status == 204


BAD_INPUT = [
    ("/v1/supply-rules", {"region": "*", "model": "*", "colour": "purple", "kind": "*",
                          "action": "order", "threshold_percent": 5}, "colour"),
    ("/v1/supply-rules", {"region": "*", "model": "*", "colour": "*", "kind": "*",
                          "action": "order", "threshold_percent": 101}, "threshold_percent"),
    ("/v1/supply-rules", {"region": "EU West", "model": "*", "colour": "*", "kind": "*",
                          "action": "order", "threshold_percent": 5}, "region"),
    ("/v1/supply-rules", {"region": "*", "model": "*", "colour": "*", "kind": "*",
                          "action": "buy", "threshold_percent": 5}, "action"),
    ("/v1/supply-rules", {"region": "*", "model": "*", "colour": "*", "kind": "*",
                          "action": "order", "threshold_percent": 5, "extra": 1}, "extra"),
    ("/v1/supply-rules", {"region": "*", "model": "*", "colour": "*", "kind": "*",
                          "action": "warn", "threshold_percent": 5,
                          "supplier_id": str(uuid.uuid4())}, "supplier_id"),
    ("/v1/supply-rules", {"region": "*", "model": "*", "colour": "*", "kind": "ink",
                          "action": "order", "threshold_percent": 5,
                          "supplier_id": str(uuid.uuid4())}, "supplier_id"),
    ("/v1/suppliers", {"name": "S", "webhook_url": "ftp://x.example/", "secret": SECRET},
     "webhook_url"),
    ("/v1/suppliers", {"name": "S", "webhook_url": "https://u:p@x.example/", "secret": SECRET},
     "webhook_url"),
    ("/v1/suppliers", {"name": "S", "webhook_url": "https://x.example/", "secret": "short"},
     "secret"),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body", "field"), BAD_INPUT)
async def test_bad_input_is_refused_with_the_field_and_changes_nothing(
    rig: tuple[Rig, Any], path: str, body: dict[str, Any], field: str
) -> None:
    r, _ = rig
    tenant = str(uuid.uuid4())
    resp = await r.client.post(path, json={**body, "tenant_id": tenant}, headers=OPERATOR)
    assert resp.status == 422
    assert resp.content_type == "application/problem+json"
    problem = await resp.json()
    assert field in [e["field"] for e in problem["errors"]], problem
    assert all(e["reason"] for e in problem["errors"])
    _, page = await r.get(f"{path}?tenant_id={tenant}")
    assert [i for i in page["items"] if i["tenant_id"] == tenant] == []


async def test_malformed_requests_get_problems(rig: tuple[Rig, Any]) -> None:
    r, _ = rig
    resp = await r.client.post("/v1/supply-rules", data=b"{not json", headers={
        **OPERATOR, "Content-Type": "application/json"})  # fmt: skip
    assert resp.status == 400 and (await resp.json())["code"] == "malformed-json"
    resp = await r.client.get("/v1/supply-orders?state=lost&limit=0", headers=OPERATOR)
    fields = {e["field"] for e in (await resp.json())["errors"]}
    assert resp.status == 422 and fields == {"state", "limit"}
    resp = await r.client.get("/v1/supply-levels", headers=OPERATOR)
    assert resp.status == 422
    assert (await r.client.get("/v1/supply-orders/not-a-uuid", headers=OPERATOR)).status == 404
    assert (await r.client.get("/v1/supply-orders")).status == 401


async def test_supplier_callbacks_must_be_signed_by_the_orders_supplier(
    rig: tuple[Rig, Any],
) -> None:
    r, auth = rig
    mine = await _tenant(r, auth)
    tenant = mine["tenant"]
    hook = {"name": "S2", "webhook_url": "https://s2.example/", "secret": SECRET}
    status, supplier = await r.post("/v1/suppliers", hook, mine["admin"])
    status, rule = await r.post("/v1/supply-rules", {
        "region": "*", "model": "*", "colour": "*", "kind": "toner", "action": "order",
        "threshold_percent": 10, "supplier_id": supplier["id"]}, mine["admin"])  # fmt: skip
    assert status == 201, rule
    printer = await r.printer(tenant)
    await r.report(printer, ("toner", "black", 1))
    (order,) = await r.orders(printer)
    path = f"/v1/supply-orders/{order['id']}/shipped"
    body = b'{"carrier": "UPS"}'
    json_type = {"Content-Type": "application/json"}
    for headers in (
        {},  # unsigned
        {"X-Printcloud-Signature": signed(body, path, "another secret of enough length....")},
        {"X-Printcloud-Signature": signed(body, path, at=int(time.time()) - 3600)},
        {"X-Printcloud-Signature": signed(b'{"carrier": "DHL"}', path)},  # another body
        {"X-Printcloud-Signature": "garbage"},
    ):
        resp = await r.client.post(path, data=body, headers={**json_type, **headers})
        assert resp.status == 401, headers
    # An order without a supplier (the first one) cannot be reported by a signature.
    unsupplied = f"/v1/supply-orders/{mine['order']['id']}/shipped"
    resp = await r.client.post(unsupplied, data=body, headers={
        **json_type, "X-Printcloud-Signature": signed(body, unsupplied)})  # fmt: skip
    assert resp.status == 401
    _, unchanged = await r.get(f"/v1/supply-orders/{order['id']}")
    assert unchanged["state"] == order["state"]
    good = {**json_type, "X-Printcloud-Signature": signed(body, path)}
    resp = await r.client.post(path, data=body, headers=good)
    assert resp.status == 200 and (await resp.json())["carrier"] == "UPS"
    # An administrator of the tenant may report too; a plain user may not.
    delivered = f"/v1/supply-orders/{order['id']}/delivered"
    assert (await r.client.post(delivered, headers=mine["user"])).status == 403
    resp = await r.client.post(delivered, headers=mine["admin"])
    assert resp.status == 200 and (await resp.json())["state"] == "delivered"
    bad = await r.client.post(delivered, json={"delivered_at": "yesterday"}, headers=mine["admin"])
    assert bad.status == 422


async def _supplied_order(r: Rig, auth: Any) -> dict[str, Any]:
    """An open order of a fresh tenant, sent to a supplier holding ``SECRET``."""
    mine = await _tenant(r, auth)
    hook = {"name": "S3", "webhook_url": "https://s3.example/", "secret": SECRET}
    _, supplier = await r.post("/v1/suppliers", hook, mine["admin"])
    status, rule = await r.post("/v1/supply-rules", {
        "region": "*", "model": "*", "colour": "*", "kind": "toner", "action": "order",
        "threshold_percent": 10, "supplier_id": supplier["id"]}, mine["admin"])  # fmt: skip
    assert status == 201, rule
    printer = await r.printer(mine["tenant"])
    await r.report(printer, ("toner", "black", 1))
    (order,) = await r.orders(printer)
    return order  # type: ignore[no-any-return]


async def test_a_callback_signature_covers_order_and_step_and_is_accepted_once(
    rig: tuple[Rig, Any],
) -> None:
    """A signature made for one order's step moves to no other step or order, an old
    body-only signature is refused, and the same signed callback counts once."""
    r, auth = rig
    order, other = await _supplied_order(r, auth), await _supplied_order(r, auth)
    shipped = f"/v1/supply-orders/{order['id']}/shipped"
    delivered = f"/v1/supply-orders/{order['id']}/delivered"
    header = signed(b"", shipped)
    for path in (delivered, f"/v1/supply-orders/{other['id']}/shipped"):
        resp = await r.client.post(path, headers={"X-Printcloud-Signature": header})
        assert resp.status == 401, path
    now = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{now}.".encode(), hashlib.sha256).hexdigest()
    body_only = f"t={now},v1={mac}"  # the old body-only signature of an empty body
    resp = await r.client.post(delivered, headers={"X-Printcloud-Signature": body_only})
    assert resp.status == 401
    _, unchanged = await r.get(f"/v1/supply-orders/{order['id']}")
    assert unchanged["state"] == order["state"]
    # The signed callback once: accepted; the very same request again: a replay, refused.
    first = await r.client.post(shipped, headers={"X-Printcloud-Signature": header})
    assert first.status == 200 and (await first.json())["state"] == "shipped"
    again = await r.client.post(shipped, headers={"X-Printcloud-Signature": header})
    assert again.status == 401
    assert "replay" in (await again.json())["detail"]
    # A fresh signature for the same step is a repeat the supplier may send: unchanged.
    fresh = await r.client.post(shipped, headers={"X-Printcloud-Signature": signed(b"", shipped)})
    assert fresh.status == 200 and (await fresh.json())["state"] == "shipped"


async def test_a_malformed_supplies_report_is_parked(rig: tuple[Rig, Any]) -> None:
    r, _ = rig
    printer = await r.printer()
    good = supplies_report(printer, ("toner", "black", 50))
    env = new_envelope(good, source="gateway", tenant_id=printer["tenant_id"])
    bad = env.model_copy(update={"data": {**env.data, "supplies": [
        {"kind": "toner", "colour": "black", "level_percent": 150}]}})  # fmt: skip
    foreign = new_envelope(
        good.model_copy(update={"tenant_id": uuid.uuid4()}), source="gateway", tenant_id=None
    )
    await publish(r.bootstrap, *[("devices.telemetry", e) for e in (bad, foreign)])

    def by_event(letters: list[DeadLetter]) -> dict[str, str]:
        """Reasons by the parked event's id (other tests park garbage here, even in this
        group)."""
        parked = {}
        for d in letters:
            if d.value.startswith(b"{"):
                with contextlib.suppress(ValueError):
                    parked[str(json.loads(d.value).get("event_id"))] = d.reason
        return parked

    wanted = {str(bad.event_id), str(foreign.event_id)}
    letters = await dead_letters(
        r.bootstrap,
        consumer=f"{r.db.name}-supplies",
        done=lambda found: wanted <= by_event(found).keys(),
    )
    parked = by_event(letters)
    assert "level_percent" in parked[str(bad.event_id)]
    assert "is not in tenant" in parked[str(foreign.event_id)]
    _, levels = await r.get(f"/v1/supply-levels?printer_id={printer['printer_id']}")
    assert levels["items"] == []
