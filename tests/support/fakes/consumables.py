"""Consumables' repository in memory: the same methods as
:class:`services.consumables.repository.ConsumablesRepository`, state in dicts."""

from __future__ import annotations

import uuid
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.consumables.domain.commands import OrderQuery
from services.consumables.domain.model import (
    OPEN_STATES,
    Delivery,
    KnownPrinter,
    Level,
    LevelHistory,
    NewOrder,
    Order,
    Rule,
    Supplier,
)


def _now() -> datetime:
    return datetime.now(UTC)


class FakeConsumablesRepository:
    """Printers (the read model), rules, suppliers, levels, orders and deliveries."""

    def __init__(self) -> None:
        self.printers: dict[uuid.UUID, KnownPrinter] = {}
        self.rules: dict[uuid.UUID, Rule] = {}
        self.suppliers: dict[uuid.UUID, Supplier] = {}
        self.levels: dict[tuple[uuid.UUID, str, str], Level] = {}
        self.history: list[tuple[uuid.UUID, uuid.UUID, LevelHistory]] = []
        self.orders: dict[uuid.UUID, Order] = {}
        self.deliveries: dict[uuid.UUID, dict[str, Any]] = {}

    def add_printer(
        self, tenant_id: uuid.UUID, *, model: str = "LaserJet 4", region: str = "eu-west"
    ) -> uuid.UUID:
        """A printer known from the registry (test setup)."""
        printer_id = uuid.uuid4()
        self.printers[printer_id] = KnownPrinter(
            printer_id=printer_id, tenant_id=tenant_id, name="Printer",
            model=model, region=region, location=None, revision=1,
        )  # fmt: skip
        return printer_id

    # ---------------------------------------------------------------- rules, suppliers

    async def insert_rule(self, rule: Rule) -> Rule | None:
        if any(
            (r.tenant_id, *r.keys()) == (rule.tenant_id, *rule.keys()) for r in self.rules.values()
        ):
            return None
        self.rules[rule.id] = rule
        return rule

    async def update_rule(self, rule: Rule) -> Rule | None:
        if any(
            r.id != rule.id and (r.tenant_id, *r.keys()) == (rule.tenant_id, *rule.keys())
            for r in self.rules.values()
        ):
            return None
        saved = replace(rule, revision=self.rules[rule.id].revision + 1, updated_at=_now())
        self.rules[rule.id] = saved
        return saved

    async def delete_rule(self, rule_id: uuid.UUID) -> None:
        self.rules.pop(rule_id, None)

    async def get_rule(self, rule_id: uuid.UUID, *, for_update: bool = False) -> Rule | None:
        return self.rules.get(rule_id)

    async def list_rules(
        self, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> list[Rule]:
        found = [
            r for r in self.rules.values()
            if (tenant_id is None or r.tenant_id in (tenant_id, None))
            and (after is None or r.id > after)
        ]  # fmt: skip
        return sorted(found, key=lambda r: r.id)[:limit]

    async def rules_for(self, tenant_id: uuid.UUID) -> list[Rule]:
        return [r for r in self.rules.values() if r.tenant_id in (tenant_id, None)]

    async def insert_supplier(self, supplier: Supplier) -> Supplier:
        self.suppliers[supplier.id] = supplier
        return replace(supplier, sealed_secret=None)

    async def get_supplier(self, supplier_id: uuid.UUID) -> Supplier | None:
        return self.suppliers.get(supplier_id)

    async def list_suppliers(
        self, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> list[Supplier]:
        found = [
            replace(s, sealed_secret=None) for s in self.suppliers.values()
            if (tenant_id is None or s.tenant_id in (tenant_id, None))
            and (after is None or s.id > after)
        ]  # fmt: skip
        return sorted(found, key=lambda s: s.id)[:limit]

    # ---------------------------------------------------------------- levels

    async def printer(self, printer_id: uuid.UUID) -> KnownPrinter | None:
        return self.printers.get(printer_id)

    async def lock_level(self, printer_id: uuid.UUID, kind: str, colour: str) -> Level | None:
        return self.levels.get((printer_id, kind, colour))

    async def save_level(self, level: Level) -> None:
        self.levels[(level.printer_id, level.kind, level.colour)] = level

    async def add_history(
        self, printer_id: uuid.UUID, event_id: uuid.UUID, levels: list[LevelHistory]
    ) -> None:
        self.history.extend((printer_id, event_id, h) for h in levels)

    async def levels_of(self, printer_id: uuid.UUID) -> list[Level]:
        return sorted(
            (lv for lv in self.levels.values() if lv.printer_id == printer_id),
            key=lambda lv: (lv.kind, lv.colour),
        )

    async def history_of(self, printer_id: uuid.UUID, limit: int) -> list[LevelHistory]:
        mine = [h for p, _, h in self.history if p == printer_id]
        return sorted(reversed(mine), key=lambda h: h.reported_at, reverse=True)[:limit]

    async def purge_history(self, older_than_days: int) -> int:
        cutoff = _now() - timedelta(days=older_than_days)
        kept = [e for e in self.history if e[2].reported_at >= cutoff]
        removed = len(self.history) - len(kept)
        self.history = kept
        return removed

    # ---------------------------------------------------------------- orders

    async def insert_order(self, new: NewOrder) -> Order | None:
        if await self.open_order(new.printer_id, new.kind, new.colour) is not None:
            return None
        now = _now()
        order = Order(
            **asdict(new), carrier=None, tracking_number=None, detail=None,
            supplier_response=None, created_at=now, updated_at=now, sent_at=None,
            shipped_at=None, delivered_at=None, closed_at=None,
        )  # fmt: skip
        self.orders[order.id] = order
        return order

    async def get_order(self, order_id: uuid.UUID, *, for_update: bool = False) -> Order | None:
        return self.orders.get(order_id)

    async def open_order(self, printer_id: uuid.UUID, kind: str, colour: str) -> Order | None:
        for o in self.orders.values():
            if (o.printer_id, o.kind, o.colour) == (printer_id, kind, colour) and (
                o.state in OPEN_STATES
            ):
                return o
        return None

    async def update_order(self, order_id: uuid.UUID, **changes: Any) -> Order:
        order = replace(self.orders[order_id], **changes, updated_at=_now())
        self.orders[order_id] = order
        return order

    async def list_orders(self, q: OrderQuery, tenant_id: uuid.UUID | None) -> list[Order]:
        cursor = self.orders.get(q.after) if q.after else None
        found = [
            o for o in self.orders.values()
            if (tenant_id is None or o.tenant_id == tenant_id)
            and (q.printer_id is None or o.printer_id == q.printer_id)
            and (q.state is None or o.state == q.state)
            and (q.kind is None or o.kind == q.kind)
            and (q.colour is None or o.colour == q.colour)
            and (q.open is None or (o.state in OPEN_STATES) == q.open)
            and (cursor is None or (o.created_at, o.id) < (cursor.created_at, cursor.id))
        ]  # fmt: skip
        return sorted(found, key=lambda o: (o.created_at, o.id), reverse=True)[: q.limit]

    async def add_delivery(self, order_id: uuid.UUID, supplier_id: uuid.UUID) -> None:
        self.deliveries.setdefault(
            order_id,
            {"supplier_id": supplier_id, "attempts": 0, "next_attempt_at": _now(),
             "last_status": None, "last_error": None},
        )  # fmt: skip

    async def claim_deliveries(self, limit: int, lease_s: float) -> list[Delivery]:
        now = _now()
        due = sorted(
            (d["next_attempt_at"], order_id)
            for order_id, d in self.deliveries.items()
            if d["next_attempt_at"] <= now
        )[:limit]
        claimed = []
        for _, order_id in due:
            d = self.deliveries[order_id]
            d.update(next_attempt_at=now + timedelta(seconds=lease_s), attempts=d["attempts"] + 1)
            claimed.append(Delivery(order_id, d["supplier_id"], d["attempts"]))
        return claimed

    async def retry_delivery(
        self, order_id: uuid.UUID, delay_s: float, status: int | None, error: str
    ) -> None:
        if order_id in self.deliveries:
            self.deliveries[order_id].update(
                next_attempt_at=_now() + timedelta(seconds=delay_s), last_status=status,
                last_error=error[:1000],
            )  # fmt: skip

    async def drop_delivery(self, order_id: uuid.UUID) -> None:
        self.deliveries.pop(order_id, None)
