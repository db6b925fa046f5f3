"""What consumables learns from other topics: printers (region and model, for the
rules) from the registry, supply levels from devices."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.consumables import repository as repo
from services.consumables.handlers import supplies
from services.consumables.settings import ConsumablesSettings
from shared.db.outbox import Emitter
from shared.events.contracts.gateway import DeviceSuppliesReported
from shared.events.contracts.registry import PrinterRegistered, PrinterUpdated
from shared.events.registry import DecodedEvent
from shared.readmodels import devices
from shared.service import ConsumerSpec, Runtime


def printer_handler(out: Emitter, rise_points: int) -> Any:
    """Keep the printer read model; a new or changed printer has its stored levels judged
    again (they may have arrived before its registration)."""

    async def apply(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
        data: PrinterRegistered | PrinterUpdated = event.data
        if await devices.apply_printer(conn, repo.PRINTERS, data):
            await supplies.reevaluate_printer(
                conn, data.printer_id, out.caused_by(event.envelope), rise_points
            )

    return apply


def supplies_handler(out: Emitter, rise_points: int) -> Any:
    """device.supplies_reported."""

    async def apply(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
        await supplies.apply_report(conn, event, out, rise_points)

    return apply


def consumers(rt: Runtime[ConsumablesSettings]) -> list[ConsumerSpec]:
    """The consumables consumer groups."""
    out = rt.emitter()
    rise = rt.settings.install_rise_points
    on_printer = printer_handler(out, rise)
    return [
        ConsumerSpec(
            name=f"{rt.schema}-printers",
            topics=[PrinterRegistered.topic],
            handlers={
                PrinterRegistered.event_type: on_printer,
                PrinterUpdated.event_type: on_printer,
            },
        ),
        ConsumerSpec(
            name=f"{rt.schema}-supplies",
            topics=[DeviceSuppliesReported.topic],
            handlers={DeviceSuppliesReported.event_type: supplies_handler(out, rise)},
        ),
    ]
