"""Routing's HTTP API with auth's real access tokens: offline policies (validation,
defaults, reset) and a job's decisions, each only for the admins of its tenant."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.auth.api.routes import JWKS_PATH
from shared.testing.fixtures import ServiceDbFactory
from tests.support.auth import auth_client, login, problem
from tests.support.routing import OPERATOR, Routing, only, start_routing

pytestmark = pytest.mark.integration


@pytest.fixture
async def rig(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[tuple[TestClient, Routing]]:
    async with auth_client(service_db, bootstrap) as auth:
        jwks = str(auth.make_url(JWKS_PATH))
        async with start_routing(
            service_db, bootstrap, auth_jwks_url=jwks, auth_leeway_s=0
        ) as routing:
            yield auth, routing


def errors(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["reason"] for e in body.get("errors", [])}


async def test_policies_are_validated_defaulted_and_reset(
    rig: tuple[TestClient, Routing],
) -> None:
    auth, routing = rig
    tenant, other_tenant = uuid.uuid4(), uuid.uuid4()
    _, admin = await login(auth, str(tenant), ["admin"], ["printers:read", "printers:write"])
    main = await routing.printer(tenant, online=True)
    backup = await routing.printer(tenant, online=True)
    foreign = await routing.printer(other_tenant, online=True)
    path = f"/v1/printers/{main}/routing-policy"

    r = await routing.client.get(path, headers=admin)
    assert r.status == 200
    default = await r.json()
    assert default["default"] is True and default["on_offline"] == "hold"
    assert default["offline_after_s"] == 120 and default["failover_printer_id"] is None

    bad: list[tuple[dict[str, Any], str, str]] = [
        ({"on_offline": "hold", "offline_after_s": -1}, "offline_after_s", "greater than"),
        ({"on_offline": "sometimes", "offline_after_s": 5}, "on_offline", "'failover'"),
        ({"on_offline": "failover", "offline_after_s": 5}, "failover_printer_id", "required"),
        ({"on_offline": "failover", "offline_after_s": 5, "failover_printer_id": str(main)},
         "failover_printer_id", "another printer"),
        ({"on_offline": "failover", "offline_after_s": 5, "failover_printer_id": str(foreign)},
         "failover_printer_id", "no such printer in this tenant"),
        ({"on_offline": "failover", "offline_after_s": 5,
          "failover_printer_id": str(uuid.uuid4())},
         "failover_printer_id", "no such printer in this tenant"),
        ({"on_offline": "hold", "offline_after_s": 5, "failover_printer_id": str(backup)},
         "failover_printer_id", "only with on_offline failover"),
        ({"on_offline": "hold", "offline_after_s": 5, "colour": True}, "colour", "xtra"),
    ]  # fmt: skip
    for body, field, reason in bad:
        r = await routing.client.put(path, json=body, headers=admin)
        assert r.status == 422, (body, await r.text())
        said = errors(await problem(r))
        assert field in said and reason in said[field], said
    r = await routing.client.put(path, data="{", headers=admin)
    assert r.status in (400, 415)
    assert (await (await routing.client.get(path, headers=admin)).json())["default"] is True

    body = {"on_offline": "failover", "offline_after_s": 0, "failover_printer_id": str(backup)}
    r = await routing.client.put(path, json=body, headers=admin)
    assert r.status == 200, await r.text()
    stored = await (await routing.client.get(path, headers=admin)).json()
    assert stored["default"] is False and stored["failover_printer_id"] == str(backup)
    assert stored["offline_after_s"] == 0 and stored["updated_by"]

    assert (await routing.client.delete(path, headers=admin)).status == 204
    assert (await (await routing.client.get(path, headers=admin)).json())["default"] is True


async def test_other_tenants_and_non_admins_get_nothing(
    rig: tuple[TestClient, Routing],
) -> None:
    auth, routing = rig
    tenant, other_tenant = uuid.uuid4(), uuid.uuid4()
    scopes = ["printers:read", "printers:write", "jobs:read"]
    _, admin = await login(auth, str(tenant), ["admin"], scopes)
    _, stranger = await login(auth, str(other_tenant), ["admin"], scopes)
    _, user = await login(auth, str(tenant), ["user"], ["printers:read", "jobs:read"])
    main = await routing.printer(tenant, online=True)
    backup = await routing.printer(tenant, online=True)
    path = f"/v1/printers/{main}/routing-policy"
    body = {"on_offline": "failover", "offline_after_s": 30, "failover_printer_id": str(backup)}
    assert (await routing.client.put(path, json=body, headers=admin)).status == 200
    job = await routing.submit(tenant, printer_id=main)
    assert only(await routing.decisions(job, 1)) == ((1, "queue", str(main), "direct"),)
    job_path = f"/v1/jobs/{job.job_id}/routing"

    async def answers(headers: dict[str, str]) -> list[tuple[int, str]]:
        got = []
        for method, url, kw in (
            ("GET", path, {}),
            ("PUT", path, {"json": {"on_offline": "hold", "offline_after_s": 1}}),
            ("DELETE", path, {}),
            ("GET", job_path, {}),
        ):
            r = await routing.client.request(method, url, headers=headers, **kw)
            got.append((r.status, (await problem(r))["code"]))
        return got

    missing = [("GET", f"/v1/printers/{uuid.uuid4()}/routing-policy"),
               ("GET", f"/v1/jobs/{uuid.uuid4()}/routing")]  # fmt: skip
    for method, url in missing:
        r = await routing.client.request(method, url, headers=admin)
        assert r.status == 404
    foreign = await answers(stranger)
    assert foreign == [
        (404, "printer-not-found"), (404, "printer-not-found"), (404, "printer-not-found"),
        (404, "job-not-found"),
    ]  # fmt: skip
    assert [s for s, _ in await answers(user)] == [403, 403, 403, 403]
    # Nothing changed for the tenant's admin.
    stored = await (await routing.client.get(path, headers=admin)).json()
    assert stored["on_offline"] == "failover" and stored["offline_after_s"] == 30
    r = await routing.client.get(job_path, headers=admin)
    assert r.status == 200
    seen = await r.json()
    assert seen["tenant_id"] == str(tenant) and seen["state"] == "queued"
    assert [(d["decision"], d["reason"]) for d in seen["decisions"]] == [(1, "direct")]
    assert (await routing.client.get(job_path, headers=OPERATOR)).status == 200
