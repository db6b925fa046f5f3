"""Which rule decides for a reported supply (region x model x colour x kind), and what it
does: an order, a warning event, or nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.consumables.app import SPEC
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.support.consumables import OPERATOR, Rig, consumables_client
from tests.support.kafka import envelopes

pytestmark = pytest.mark.integration

TENANT = uuid.uuid4()
BARE_TENANT = uuid.uuid4()  # has no rules of its own: the platform defaults decide
RULES: dict[str, dict[str, Any]] = {
    "any": dict(region="*", model="*", colour="*", kind="*", action="warn", threshold_percent=10),
    "region": dict(region="eu-west", model="*", colour="*", kind="*", action="order",
                   threshold_percent=20),
    "model": dict(region="*", model="M1", colour="*", kind="*", action="ignore",
                  threshold_percent=30),
    "exact": dict(region="eu-west", model="M1", colour="black", kind="*", action="order",
                  threshold_percent=40),
    "colour-kind": dict(region="*", model="*", colour="cyan", kind="toner", action="warn",
                        threshold_percent=50),
    "model-colour": dict(region="*", model="M2", colour="magenta", kind="*", action="warn",
                         threshold_percent=35),
}  # fmt: skip
PLATFORM = dict(
    region="*", model="*", colour="*", kind="drum", action="order", threshold_percent=60
)

# (tenant, region, model, colour, kind, level) -> (winning rule, what happens)
CASES = [
    (TENANT, "us-east", "M2", "yellow", "toner", 5, "any", "warn"),
    (TENANT, "eu-west", "M2", "yellow", "toner", 15, "region", "order"),
    (TENANT, "eu-west", "M1", "yellow", "toner", 15, "model", "nothing"),  # beats region
    (TENANT, "eu-west", "M1", "black", "toner", 35, "exact", "order"),
    (TENANT, "eu-west", "M1", "black", "toner", 0, "exact", "order"),
    (TENANT, "us-east", "M1", "black", "toner", 5, "model", "nothing"),
    (TENANT, "us-east", "M3", "cyan", "toner", 45, "colour-kind", "warn"),
    (TENANT, "eu-west", "M3", "cyan", "toner", 45, "region", "nothing"),  # wins, not low
    (TENANT, "us-east", "M3", "cyan", "ink", 5, "any", "warn"),
    (TENANT, "eu-west", "M2", "magenta", "ink", 30, "model-colour", "warn"),
    (TENANT, "eu-west", "M2", "magenta", "ink", 36, "model-colour", "nothing"),
    (TENANT, "us-east", "m2", "magenta", "ink", 30, "model-colour", "warn"),  # any case
    (TENANT, "us-east", "M2", "yellow", "toner", None, "any", "nothing"),  # unknown level
    (BARE_TENANT, "eu-west", "M1", "none", "drum", 55, "platform", "order"),
    (BARE_TENANT, "eu-west", "M1", "black", "toner", 1, None, "nothing"),
]


@pytest.fixture(scope="module")
async def rig(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[tuple[Rig, dict[str, str]]]:
    db = await service_db(unique("consumables"), SPEC.migrations_dir)
    async with consumables_client(db, bootstrap) as client:
        rig = Rig(client, db, bootstrap)
        ids = {name: (await rig.rule(tenant_id=str(TENANT), **body))["id"]
               for name, body in RULES.items()}  # fmt: skip
        ids["platform"] = (await rig.rule(**PLATFORM))["id"]
        yield rig, ids


@pytest.mark.parametrize(
    ("tenant", "region", "model", "colour", "kind", "level", "winner", "outcome"), CASES
)
async def test_the_most_specific_rule_decides(
    rig: tuple[Rig, dict[str, str]],
    tenant: uuid.UUID,
    region: str,
    model: str,
    colour: str,
    kind: str,
    level: int | None,
    winner: str | None,
    outcome: str,
) -> None:
    r, ids = rig
    printer = await r.printer(tenant, model=model, region=region)
    await r.report(printer, (kind, colour, level))
    orders = await r.orders(printer)
    _, levels = await r.get(f"/v1/supply-levels?printer_id={printer['printer_id']}")
    (stored,) = levels["items"]
    assert stored["level_percent"] == level
    if outcome == "order":
        (order,) = orders
        assert order["rule_id"] == ids[winner]  # type: ignore[index]
        assert (order["kind"], order["colour"], order["state"]) == (kind, colour, "created")
        assert stored["low_since"] is not None
    elif outcome == "warn":
        assert orders == []
        (warning,) = await envelopes(
            r.bootstrap, "consumables.orders", key=str(printer["printer_id"]), count=1
        )
        assert warning["type"] == "supply.level_warning"
        assert warning["data"]["rule_id"] == ids[winner]  # type: ignore[index]
        assert warning["data"]["level_percent"] == level
        assert stored["low_since"] is not None
    else:
        assert orders == []
        assert stored["low_since"] is None


async def test_rules_with_the_same_keys_in_one_scope_are_refused(
    rig: tuple[Rig, dict[str, str]],
) -> None:
    r, ids = rig
    status, problem = await r.post("/v1/supply-rules", {"tenant_id": str(TENANT), **RULES["exact"]})
    assert status == 409 and problem["code"] == "duplicate-rule"
    # The same keys in another scope are fine: another tenant, or the platform.
    other = {"tenant_id": str(uuid.uuid4()), **RULES["exact"]}
    assert (await r.post("/v1/supply-rules", other))[0] == 201
    # Changing a rule onto another's keys is refused too, and changes nothing.
    r2 = await r.client.patch(
        f"/v1/supply-rules/{ids['region']}",
        json={"model": "M1", "colour": "black"},
        headers=OPERATOR,
    )
    assert r2.status == 409
    _, rule = await r.get(f"/v1/supply-rules/{ids['region']}")
    assert (rule["model"], rule["colour"], rule["revision"]) == ("*", "*", 1)
