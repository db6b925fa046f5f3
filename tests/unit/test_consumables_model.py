"""Consumables rules as pure values: precedence, low levels, replacement, back-off,
which answers are retried, webhook signatures and which addresses a webhook may reach."""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import UTC, datetime

import pytest

from services.consumables.delivery import allowed_address
from services.consumables.domain.model import (
    Rule,
    backoff_s,
    is_low,
    replenished,
    retryable_status,
    winning_rule,
)
from services.consumables.domain.signing import (
    callback_signature,
    signature,
    verify,
    verify_callback,
)

TENANT = uuid.uuid4()
NOW = datetime.now(UTC)


def rule(region: str = "*", model: str = "*", colour: str = "*", kind: str = "*",
         tenant: uuid.UUID | None = TENANT, action: str = "order") -> Rule:  # fmt: skip
    return Rule(uuid.uuid4(), tenant, region, model, colour, kind, action, 10, None, 1, NOW, NOW)  # type: ignore[arg-type]


SUPPLY = {"region": "eu-west", "model": "M1", "colour": "black", "kind": "toner"}


def test_every_combination_of_named_keys_has_its_own_specificity() -> None:
    rules = [
        rule(**{k: SUPPLY[k] for k in keys})
        for n in range(5)
        for keys in itertools.combinations(SUPPLY, n)
    ]
    assert len({r.specificity() for r in rules}) == 16
    best = winning_rule(rules, tenant_id=TENANT, **SUPPLY)
    assert best is not None and best.keys() == ("eu-west", "M1", "black", "toner")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"model": "M1"}, {"region": "eu-west", "colour": "black", "kind": "toner"}),
        ({"region": "eu-west", "model": "M1", "colour": "black"}, {"model": "M1", "kind": "toner"}),
        ({"region": "eu-west"}, {"colour": "black", "kind": "toner"}),
        ({"colour": "black"}, {"kind": "toner"}),
        ({"kind": "toner"}, {}),
    ],
)
def test_precedence_model_then_region_then_colour_then_kind(
    a: dict[str, str], b: dict[str, str]
) -> None:
    winner, loser = rule(**a), rule(**b)
    assert winning_rule([loser, winner], tenant_id=TENANT, **SUPPLY) is winner


def test_a_tenant_rule_beats_any_platform_default_and_others_never_apply() -> None:
    platform = rule(**SUPPLY, tenant=None)
    broad = rule()
    assert winning_rule([platform, broad], tenant_id=TENANT, **SUPPLY) is broad
    assert winning_rule([platform], tenant_id=TENANT, **SUPPLY) is platform
    assert winning_rule([rule(tenant=uuid.uuid4())], tenant_id=TENANT, **SUPPLY) is None
    assert winning_rule([rule(colour="cyan")], tenant_id=TENANT, **SUPPLY) is None
    assert winning_rule([rule(model="m1", region="EU-WEST")], tenant_id=TENANT, **SUPPLY)


def test_low_and_replaced() -> None:
    assert is_low(10, 10) and is_low(0, 0) and is_low(0, 5) and not is_low(11, 10)
    assert not is_low(None, 100)
    assert not replenished(25, threshold=10, lowest=8, rise_points=20)  # not far enough
    assert replenished(28, threshold=10, lowest=8, rise_points=20)
    assert not replenished(45, threshold=50, lowest=5, rise_points=20)  # still low
    assert not replenished(None, threshold=10, lowest=0, rise_points=20)


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    rng = random.Random(7)
    delays = [backoff_s(n, base_s=1, cap_s=60, rng=rng) for n in range(1, 10)]
    ceilings = [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len({round(backoff_s(3, base_s=1, cap_s=60), 6) for _ in range(20)}) > 1


@pytest.mark.parametrize(("status", "retry"), [
    (500, True), (502, True), (503, True), (408, True), (429, True), (425, True),
    (301, True), (400, False), (401, False), (404, False), (409, False), (422, False),
])  # fmt: skip
def test_which_answers_are_retried(status: int, retry: bool) -> None:
    assert retryable_status(status) is retry


def test_signatures_bind_secret_body_and_time() -> None:
    header = signature("k" * 32, 1_700_000_000, b"{}")
    assert verify(header, "k" * 32, b"{}", now=1_700_000_100, tolerance_s=300)
    assert not verify(header, "k" * 32, b"{ }", now=1_700_000_100, tolerance_s=300)
    assert not verify(header, "j" * 32, b"{}", now=1_700_000_100, tolerance_s=300)
    assert not verify(header, "k" * 32, b"{}", now=1_700_000_301, tolerance_s=300)
    for garbage in ("", "t=x,v1=00", "v1=abc", "t=1700000000"):
        assert not verify(garbage, "k" * 32, b"{}", now=1_700_000_000, tolerance_s=300)


def test_a_callback_signature_binds_method_path_time_nonce_and_body() -> None:
    path, nonce, now = "/v1/supply-orders/o1/shipped", "n" * 16, 1_700_000_000
    header = callback_signature("k" * 32, now, nonce, "POST", path, b"{}")
    ok = {"method": "POST", "path": path, "body": b"{}", "now": now + 60, "tolerance_s": 120}
    signed = verify_callback(header, "k" * 32, **ok)  # type: ignore[arg-type]
    assert signed is not None and (signed.timestamp, signed.nonce) == (now, nonce)
    for change in (
        {"path": "/v1/supply-orders/o1/delivered"}, {"path": "/v1/supply-orders/o2/shipped"},
        {"method": "PUT"}, {"body": b"{ }"}, {"now": now + 121}, {"now": now - 121},
    ):  # fmt: skip
        assert verify_callback(header, "k" * 32, **{**ok, **change}) is None, change  # type: ignore[arg-type]
    assert verify_callback(header, "j" * 32, **ok) is None  # type: ignore[arg-type]
    short = callback_signature("k" * 32, now, "short", "POST", path, b"{}")
    body_only = signature("k" * 32, now, b"{}")
    for garbage in (short, body_only, "", "t=x,n=nnnnnnnnnnnnnnnn,v2=00"):
        assert verify_callback(garbage, "k" * 32, **ok) is None, garbage  # type: ignore[arg-type]


@pytest.mark.parametrize(("address", "allowed"), [
    ("127.0.0.1", False), ("10.1.2.3", False), ("192.168.0.10", False), ("169.254.169.254", False),
    ("::1", False), ("fd00::1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("93.184.216.34", True), ("2606:4700::1111", True),
])  # fmt: skip
def test_webhooks_reach_public_addresses_only(address: str, allowed: bool) -> None:
    assert allowed_address(address) is allowed
