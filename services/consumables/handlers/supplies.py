"""Applying reported supply levels: store them, and let the winning rule act once per low
episode (an order, or a warning); close the open order when the supply is replaced."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.consumables.domain.events import (
    SupplyLevelWarning,
    SupplyOrderCanceled,
    SupplyOrderCreated,
    SupplyOrderInstalled,
)
from services.consumables.domain.model import (
    KnownPrinter,
    Level,
    LevelHistory,
    NewOrder,
    Rule,
    is_low,
    replenished,
    winning_rule,
)
from services.consumables.handlers.inbox import on_connection
from services.consumables.handlers.orders import ids_of
from services.consumables.repository import ConsumablesRepository
from shared.db.outbox import Emitter
from shared.db.uow import Transactions, UnitOfWork
from shared.errors import PermanentEventError
from shared.events.contracts.gateway import DeviceSuppliesReported, SupplyLevel
from shared.events.registry import DecodedEvent
from shared.http.auth import Principal

Uow = UnitOfWork[ConsumablesRepository]


@dataclass(frozen=True)
class Context:
    """What evaluating one supply needs besides its level."""

    printer: KnownPrinter | None
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


async def apply_levels(
    tx: Transactions[ConsumablesRepository],
    report: DeviceSuppliesReported,
    event_id: uuid.UUID,
    rise_points: int,
) -> None:
    """device.supplies_reported: history, latest levels, then the rules."""
    async with tx() as uow:
        repo = uow.repo
        printer = await repo.printer(report.device_id)
        if printer is not None and printer.tenant_id != report.tenant_id:
            raise PermanentEventError(
                f"printer {report.device_id} is not in tenant {report.tenant_id}"
            )
        await repo.add_history(
            report.device_id,
            event_id,
            [LevelHistory(s.kind, s.colour, s.level_percent, report.reported_at)
             for s in report.supplies],
        )  # fmt: skip
        # Until the printer's registration arrives its levels are only stored; they are
        # judged when it does (see reevaluate).
        rules = await repo.rules_for(report.tenant_id) if printer is not None else []
        ctx = Context(printer, rules, rise_points)
        for supply in _lowest_per_supply(report.supplies):
            current = await repo.lock_level(report.device_id, supply.kind, supply.colour)
            if current is not None and current.reported_at > report.reported_at:
                continue  # an older report arriving late changes nothing but the history
            level = Level(
                printer_id=report.device_id, tenant_id=report.tenant_id, kind=supply.kind,
                colour=supply.colour, name=supply.name, level_percent=supply.level_percent,
                source=report.source, reported_at=report.reported_at,
                low_since=current.low_since if current else None,
                low_threshold=current.low_threshold if current else None,
                low_lowest=current.low_lowest if current else None,
            )  # fmt: skip
            await repo.save_level(await evaluate(uow, ctx, level))


async def reevaluate(
    tx: Transactions[ConsumablesRepository], printer_id: uuid.UUID, rise_points: int
) -> None:
    """Judge a printer's stored levels again (it was just registered or changed)."""
    async with tx() as uow:
        printer = await uow.repo.printer(printer_id)
        if printer is None:
            return
        ctx = Context(printer, await uow.repo.rules_for(printer.tenant_id), rise_points)
        for stored in await uow.repo.levels_of(printer_id):
            if stored.tenant_id != printer.tenant_id:
                continue  # reported under another tenant: never acted on
            current = await uow.repo.lock_level(printer_id, stored.kind, stored.colour)
            assert current is not None
            await uow.repo.save_level(await evaluate(uow, ctx, current))


async def apply_report(
    conn: asyncpg.Connection, event: DecodedEvent[Any], out: Emitter, rise_points: int
) -> None:
    """device.supplies_reported, in the consumer's transaction on ``conn``."""
    tx = on_connection(conn, out.caused_by(event.envelope))
    await apply_levels(tx, event.data, event.envelope.event_id, rise_points)


async def reevaluate_printer(
    conn: asyncpg.Connection, printer_id: uuid.UUID, out: Emitter, rise_points: int
) -> None:
    """A printer just registered or changed, in the consumer's transaction on ``conn``."""
    await reevaluate(on_connection(conn, out), printer_id, rise_points)


async def evaluate(uow: Uow, ctx: Context, level: Level) -> Level:
    """End the low episode when the supply was replaced; start one (and act) when a
    rule says the level is low. Returns the level to save."""
    value = level.level_percent
    if level.low_since is not None and value is not None:
        threshold, lowest = level.low_threshold, level.low_lowest
        assert threshold is not None and lowest is not None  # set with low_since
        lowest = min(lowest, value)
        level = replace(level, low_lowest=lowest)
        if replenished(value, threshold=threshold, lowest=lowest, rise_points=ctx.rise_points):
            level = replace(level, low_since=None, low_threshold=None, low_lowest=None)
            await _close_replaced(uow, level)
    if level.low_since is not None or ctx.printer is None:
        return level
    rule = winning_rule(
        ctx.rules,
        tenant_id=level.tenant_id,
        region=ctx.printer.region,
        model=ctx.printer.model,
        colour=level.colour,
        kind=level.kind,
    )
    if rule is None or rule.action == "ignore" or not is_low(value, rule.threshold_percent):
        return level
    level = replace(
        level, low_since=level.reported_at, low_threshold=rule.threshold_percent, low_lowest=value
    )
    if rule.action == "order":
        await _open_order(uow, ctx, level, rule)
    else:
        assert value is not None
        await uow.emit(
            SupplyLevelWarning(
                tenant_id=level.tenant_id, printer_id=level.printer_id, kind=level.kind,
                colour=level.colour, at=level.reported_at, supply_name=level.name,
                level_percent=value, threshold_percent=rule.threshold_percent, rule_id=rule.id,
            ),
            tenant_id=level.tenant_id,
        )  # fmt: skip
    return level


async def _open_order(uow: Uow, ctx: Context, level: Level, rule: Rule) -> None:
    assert ctx.printer is not None
    order = await uow.repo.insert_order(
        NewOrder(
            id=uuid.uuid4(), tenant_id=level.tenant_id, printer_id=level.printer_id,
            kind=level.kind, colour=level.colour, supply_name=level.name,
            state="sending" if rule.supplier_id else "created", rule_id=rule.id,
            supplier_id=rule.supplier_id, level_percent=level.level_percent,
            threshold_percent=rule.threshold_percent,
        )
    )  # fmt: skip
    if order is None:
        return  # the supply already has an open order
    if rule.supplier_id is not None:
        await uow.repo.add_delivery(order.id, rule.supplier_id)
    await uow.emit(
        SupplyOrderCreated(
            **ids_of(order, level.reported_at), supply_name=order.supply_name,
            level_percent=level.level_percent, threshold_percent=rule.threshold_percent,
            rule_id=rule.id, supplier_id=rule.supplier_id, model=ctx.printer.model,
            region=ctx.printer.region,
        ),
        tenant_id=order.tenant_id,
    )  # fmt: skip


async def _close_replaced(uow: Uow, level: Level) -> None:
    """The supply was replaced: its open order is installed (or, never sent, canceled)."""
    order = await uow.repo.open_order(level.printer_id, level.kind, level.colour)
    if order is None:
        return
    ids = ids_of(order, level.reported_at)
    now = datetime.now(UTC)
    if order.state in ("created", "sending"):
        reason = "the supply was replaced before the order was sent"
        await uow.repo.drop_delivery(order.id)
        await uow.repo.update_order(order.id, state="canceled", detail=reason, closed_at=now)
        await uow.emit(
            SupplyOrderCanceled(**ids, reason=reason, by="printcloud"), tenant_id=order.tenant_id
        )
        return
    await uow.repo.update_order(order.id, state="installed", closed_at=now)
    await uow.emit(
        SupplyOrderInstalled(**ids, level_percent=level.level_percent), tenant_id=order.tenant_id
    )


async def levels(
    tx: Transactions[ConsumablesRepository], printer_id: uuid.UUID, who: Principal
) -> tuple[list[Level], list[LevelHistory]]:
    """A printer's latest levels the caller may see, and (if any) its recent history."""
    async with tx() as uow:
        latest = [lv for lv in await uow.repo.levels_of(printer_id) if who.can_access(lv.tenant_id)]
        history = await uow.repo.history_of(printer_id, 100) if latest else []
    return latest, history


async def purge_history(tx: Transactions[ConsumablesRepository], older_than_days: int) -> int:
    """Delete level history older than the retention; returns how many entries went."""
    async with tx() as uow:
        return await uow.repo.purge_history(older_than_days)
