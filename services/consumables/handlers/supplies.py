"""Applying reported supply levels: store them, and let the winning rule act once per low
episode (an order, or a warning); close the open order when the supply is replaced."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.consumables import repository as repo
from services.consumables.domain.events import (
    SupplyLevelWarning,
    SupplyOrderCanceled,
    SupplyOrderCreated,
    SupplyOrderInstalled,
)
from services.consumables.domain.model import Rule, is_low, replenished, winning_rule
from shared.db.outbox import Emitter
from shared.errors import PermanentEventError
from shared.events.contracts.gateway import DeviceSuppliesReported, SupplyLevel
from shared.events.registry import DecodedEvent


@dataclass(frozen=True)
class Context:
    """What evaluating one supply needs besides its level."""

    out: Emitter
    printer: asyncpg.Record | None
    rules: list[Rule]
    rise_points: int


def _lowest_per_supply(supplies: list[SupplyLevel]) -> list[SupplyLevel]:
    """One entry per (kind, colour); a device listing two (e.g. two 'other' supplies)
    is judged by the lowest known level."""
    chosen: dict[tuple[str, str], SupplyLevel] = {}
    for s in supplies:
        seen = chosen.get((s.kind, s.colour))
        if seen is None or (
            s.level_percent is not None
            and (seen.level_percent is None or s.level_percent < seen.level_percent)
        ):
            chosen[(s.kind, s.colour)] = s
    # A fixed order of locks: two reports of one printer never wait on each other crosswise.
    return [chosen[k] for k in sorted(chosen)]


async def apply_report(
    conn: asyncpg.Connection, event: DecodedEvent[Any], out: Emitter, rise_points: int
) -> None:
    """device.supplies_reported: history, latest levels, then the rules."""
    report: DeviceSuppliesReported = event.data
    printer = await repo.get_printer(conn, report.device_id)
    if printer is not None and printer["tenant_id"] != report.tenant_id:
        raise PermanentEventError(f"printer {report.device_id} is not in tenant {report.tenant_id}")
    await repo.add_history(
        conn,
        [
            (report.device_id, s.kind, s.colour, s.level_percent, report.reported_at,
             event.envelope.event_id)
            for s in report.supplies
        ],
    )  # fmt: skip
    # Until the printer's registration arrives its levels are only stored; they are
    # judged when it does (see reevaluate_printer).
    rules = await repo.rules_for(conn, report.tenant_id) if printer is not None else []
    ctx = Context(out.caused_by(event.envelope), printer, rules, rise_points)
    for supply in _lowest_per_supply(report.supplies):
        current = await repo.lock_level(conn, report.device_id, supply.kind, supply.colour)
        if current is not None and current["reported_at"] > report.reported_at:
            continue  # an older report arriving late changes nothing but the history
        level = {
            "printer_id": report.device_id, "tenant_id": report.tenant_id,
            "kind": supply.kind, "colour": supply.colour, "name": supply.name,
            "level_percent": supply.level_percent, "source": report.source,
            "reported_at": report.reported_at,
            "low_since": current["low_since"] if current else None,
            "low_threshold": current["low_threshold"] if current else None,
            "low_lowest": current["low_lowest"] if current else None,
        }  # fmt: skip
        await evaluate(conn, ctx, level)
        await repo.save_level(conn, level)


async def reevaluate_printer(
    conn: asyncpg.Connection, printer_id: uuid.UUID, out: Emitter, rise_points: int
) -> None:
    """Judge a printer's stored levels again (it was just registered or changed)."""
    printer = await repo.get_printer(conn, printer_id)
    if printer is None:
        return
    rules = await repo.rules_for(conn, printer["tenant_id"])
    ctx = Context(out, printer, rules, rise_points)
    for row in await repo.levels_of(conn, printer_id):
        if row["tenant_id"] != printer["tenant_id"]:
            continue  # reported under another tenant: never acted on
        current = await repo.lock_level(conn, printer_id, row["kind"], row["colour"])
        assert current is not None
        level = dict(current)
        await evaluate(conn, ctx, level)
        await repo.save_level(conn, level)


async def evaluate(conn: asyncpg.Connection, ctx: Context, level: dict[str, Any]) -> None:
    """End the low episode when the supply was replaced; start one (and act) when a
    rule says the level is low. Changes ``level`` in place; the caller saves it."""
    value = level["level_percent"]
    if level["low_since"] is not None and value is not None:
        level["low_lowest"] = min(level["low_lowest"], value)
        if replenished(
            value,
            threshold=level["low_threshold"],
            lowest=level["low_lowest"],
            rise_points=ctx.rise_points,
        ):
            level.update(low_since=None, low_threshold=None, low_lowest=None)
            await _close_replaced(conn, ctx, level)
    if level["low_since"] is not None or ctx.printer is None:
        return
    rule = winning_rule(
        ctx.rules,
        tenant_id=level["tenant_id"],
        region=ctx.printer["region"],
        model=ctx.printer["model"],
        colour=level["colour"],
        kind=level["kind"],
    )
    if rule is None or rule.action == "ignore" or not is_low(value, rule.threshold_percent):
        return
    level.update(low_since=level["reported_at"], low_threshold=rule.threshold_percent,
                 low_lowest=value)  # fmt: skip
    if rule.action == "order":
        await _open_order(conn, ctx, level, rule)
    else:
        await ctx.out.emit(
            conn,
            SupplyLevelWarning(
                tenant_id=level["tenant_id"], printer_id=level["printer_id"],
                kind=level["kind"], colour=level["colour"], at=level["reported_at"],
                supply_name=level["name"], level_percent=value,
                threshold_percent=rule.threshold_percent, rule_id=rule.id,
            ),
            tenant_id=level["tenant_id"],
        )  # fmt: skip


async def _open_order(
    conn: asyncpg.Connection, ctx: Context, level: dict[str, Any], rule: Rule
) -> None:
    assert ctx.printer is not None
    order = await repo.insert_order(
        conn,
        {
            "id": uuid.uuid4(), "tenant_id": level["tenant_id"],
            "printer_id": level["printer_id"], "kind": level["kind"], "colour": level["colour"],
            "supply_name": level["name"], "state": "sending" if rule.supplier_id else "created",
            "rule_id": rule.id, "supplier_id": rule.supplier_id,
            "level_percent": level["level_percent"], "threshold_percent": rule.threshold_percent,
        },
    )  # fmt: skip
    if order is None:
        return  # the supply already has an open order
    if rule.supplier_id is not None:
        await repo.add_delivery(conn, order["id"], rule.supplier_id)
    await ctx.out.emit(
        conn,
        SupplyOrderCreated(
            order_id=order["id"], tenant_id=order["tenant_id"], printer_id=order["printer_id"],
            kind=order["kind"], colour=order["colour"], at=level["reported_at"],
            supply_name=order["supply_name"], level_percent=level["level_percent"],
            threshold_percent=rule.threshold_percent, rule_id=rule.id,
            supplier_id=rule.supplier_id, model=ctx.printer["model"],
            region=ctx.printer["region"],
        ),
        tenant_id=order["tenant_id"],
    )  # fmt: skip


async def _close_replaced(conn: asyncpg.Connection, ctx: Context, level: dict[str, Any]) -> None:
    """The supply was replaced: its open order is installed (or, never sent, canceled)."""
    order = await repo.open_order(conn, level["printer_id"], level["kind"], level["colour"])
    if order is None:
        return
    ids = {
        "order_id": order["id"], "tenant_id": order["tenant_id"],
        "printer_id": order["printer_id"], "kind": order["kind"], "colour": order["colour"],
        "at": level["reported_at"],
    }  # fmt: skip
    now = datetime.now(UTC)
    if order["state"] in ("created", "sending"):
        reason = "the supply was replaced before the order was sent"
        await repo.drop_delivery(conn, order["id"])
        await repo.update_order(conn, order["id"], state="canceled", detail=reason, closed_at=now)
        await ctx.out.emit(
            conn, SupplyOrderCanceled(**ids, reason=reason, by="printcloud"),
            tenant_id=order["tenant_id"],
        )  # fmt: skip
        return
    await repo.update_order(conn, order["id"], state="installed", closed_at=now)
    await ctx.out.emit(
        conn,
        SupplyOrderInstalled(**ids, level_percent=level["level_percent"]),
        tenant_id=order["tenant_id"],
    )
