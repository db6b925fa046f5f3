"""Consumables rules: which rule applies to a supply, when a level is low, when it was
replenished, and how long to wait before the next webhook attempt. Pure values, no I/O."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

WILDCARD = "*"
Action = Literal["order", "warn", "ignore"]
OPEN_STATES = ("created", "sending", "sent", "shipped", "delivered")
"""Order states that count as open: at most one per printer and supply."""
CLOSED_STATES = ("installed", "canceled", "rejected_by_supplier")

# Specificity weights: a rule naming the model is more specific than one naming only the
# region (the model decides which cartridge fits), and so on down. Every combination of
# named keys has its own weight, so two rules that both match one supply can tie only if
# they have the same keys, which the API refuses.
WEIGHTS = {"model": 8, "region": 4, "colour": 2, "kind": 1}


@dataclass(frozen=True)
class KnownPrinter:
    """A printer as the registry describes it (what rules match on): the read model."""

    printer_id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    model: str
    region: str
    location: str | None
    revision: int


@dataclass(frozen=True)
class Rule:
    """A supply rule of a tenant (``tenant_id`` None: a platform default)."""

    id: uuid.UUID
    tenant_id: uuid.UUID | None
    region: str
    model: str
    colour: str
    kind: str
    action: Action
    threshold_percent: int
    supplier_id: uuid.UUID | None
    revision: int
    created_at: datetime
    updated_at: datetime

    def keys(self) -> tuple[str, str, str, str]:
        """What the rule matches on."""
        return (self.region, self.model, self.colour, self.kind)

    def specificity(self) -> int:
        """Higher is more specific: the sum of the weights of the keys it names."""
        return sum(w for k, w in WEIGHTS.items() if getattr(self, k) != WILDCARD)

    def matches(self, *, region: str, model: str, colour: str, kind: str) -> bool:
        """Whether every key is the wildcard or equal to the supply's (model and region
        compare case-insensitively, as people type them differently)."""
        wanted = {"region": region, "model": model, "colour": colour, "kind": kind}
        return all(
            getattr(self, k) == WILDCARD or getattr(self, k).casefold() == v.casefold()
            for k, v in wanted.items()
        )


@dataclass(frozen=True)
class Supplier:
    """Who receives a rule's orders, at its webhook (``tenant_id`` None: a platform
    supplier). ``sealed_secret`` is only loaded where a signature is made or checked."""

    id: uuid.UUID
    tenant_id: uuid.UUID | None
    name: str
    webhook_url: str
    created_at: datetime
    sealed_secret: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Level:
    """The latest level of one supply of a printer, and its low episode: since when a
    rule acted on it being low, that rule's threshold and the lowest level seen since."""

    printer_id: uuid.UUID
    kind: str
    colour: str
    tenant_id: uuid.UUID
    name: str
    level_percent: int | None
    source: str
    reported_at: datetime
    low_since: datetime | None = None
    low_threshold: int | None = None
    low_lowest: int | None = None


@dataclass(frozen=True)
class LevelHistory:
    """One reported level of one supply."""

    kind: str
    colour: str
    level_percent: int | None
    reported_at: datetime


@dataclass(frozen=True)
class NewOrder:
    """An order about to be opened for a low supply."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    printer_id: uuid.UUID
    kind: str
    colour: str
    supply_name: str
    state: str
    rule_id: uuid.UUID
    supplier_id: uuid.UUID | None
    level_percent: int | None
    threshold_percent: int


@dataclass(frozen=True)
class Order:
    """A supply order and how far it got."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    printer_id: uuid.UUID
    kind: str
    colour: str
    supply_name: str
    state: str
    rule_id: uuid.UUID
    supplier_id: uuid.UUID | None
    level_percent: int | None
    threshold_percent: int
    carrier: str | None
    tracking_number: str | None
    detail: str | None
    supplier_response: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    closed_at: datetime | None

    @property
    def closed(self) -> bool:
        """Installed, canceled or refused by the supplier: nothing moves it any more."""
        return self.state in CLOSED_STATES

    def reportable(self, step: Literal["shipped", "delivered"]) -> bool:
        """Whether a report of ``step`` moves the order on; one that arrives after a
        later one (shipped after delivered) changes nothing."""
        return self.state in REPORT_FROM[step]


# The states each report of the supplier may move an order from.
REPORT_FROM: dict[str, tuple[str, ...]] = {
    "shipped": ("created", "sending", "sent"),
    "delivered": ("created", "sending", "sent", "shipped"),
}


@dataclass(frozen=True)
class Delivery:
    """An order's webhook waiting for an attempt, and how many attempts it had."""

    order_id: uuid.UUID
    supplier_id: uuid.UUID
    attempts: int


def winning_rule(
    rules: Iterable[Rule], *, tenant_id: uuid.UUID, region: str, model: str, colour: str, kind: str
) -> Rule | None:
    """The rule that decides for one supply: among the tenant's own matching rules the
    most specific; only when none of them matches, the most specific platform default."""
    matching = [r for r in rules if r.matches(region=region, model=model, colour=colour, kind=kind)]
    for scope in (tenant_id, None):
        candidates = [r for r in matching if r.tenant_id == scope]
        if candidates:
            return max(candidates, key=lambda r: (r.specificity(), r.created_at))
    return None


def is_low(level: int | None, threshold: int) -> bool:
    """At or below the threshold, or empty. An unknown level is never low."""
    return level is not None and (level <= threshold or level == 0)


def replenished(level: int | None, *, threshold: int, lowest: int, rise_points: int) -> bool:
    """A low supply counts as replaced when its level is above the threshold of the rule
    that acted and at least ``rise_points`` above the lowest level seen since, so that a
    level wobbling around the threshold is not taken for a new cartridge."""
    return level is not None and level > threshold and level >= lowest + rise_points


def backoff_s(
    attempts: int, *, base_s: float, cap_s: float, rng: random.Random | None = None
) -> float:
    """Delay before the next webhook attempt after ``attempts`` failures: exponential
    (base * 2^(n-1), at most ``cap_s``) with jitter over its upper half, so that many
    orders failing together do not retry in lockstep."""
    ceiling = min(cap_s, base_s * 2 ** max(0, attempts - 1))
    return float(ceiling * (0.5 + 0.5 * (rng or random).random()))


def retryable_status(status: int) -> bool:
    """Whether a supplier's HTTP answer is worth retrying; 2xx is success, other 4xx a
    refusal of the order."""
    return not (400 <= status < 500) or status in (408, 425, 429)
