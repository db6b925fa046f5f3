"""SQL for consumables' own schema (asyncpg, no ORM; search_path is the service's
schema), one class per area, all returning domain objects; :class:`ConsumablesRepository`
is all of them on one connection."""

from __future__ import annotations

from services.consumables.repository.levels import LevelRepository
from services.consumables.repository.orders import OrderRepository
from services.consumables.repository.printers import PRINTERS, get_printer
from services.consumables.repository.rules import RuleRepository


class ConsumablesRepository(RuleRepository, LevelRepository, OrderRepository):
    """Every table of consumables' schema, on one connection (one transaction)."""


__all__ = [
    "PRINTERS",
    "ConsumablesRepository",
    "LevelRepository",
    "OrderRepository",
    "RuleRepository",
    "get_printer",
]
