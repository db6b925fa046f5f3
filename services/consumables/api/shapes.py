"""How consumables resources look on the wire (the models also feed the OpenAPI document)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.consumables.domain.model import Level, LevelHistory, Order, Rule, Supplier


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def rule_json(rule: Rule) -> dict[str, Any]:
    """A rule, with its specificity (higher wins)."""
    return {**{k: _plain(v) for k, v in asdict(rule).items()}, "specificity": rule.specificity()}


_SUPPLIER_FIELDS = ("id", "tenant_id", "name", "webhook_url", "created_at")
_LEVEL_INTERNAL = frozenset({"low_lowest", "printer_id", "tenant_id"})


def supplier_json(supplier: Supplier) -> dict[str, Any]:
    """A supplier without its secret (SupplierOut)."""
    return {k: _plain(getattr(supplier, k)) for k in _SUPPLIER_FIELDS}


def _fields_json(obj: Any, *, without: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {k: _plain(v) for k, v in asdict(obj).items() if k not in without}


def order_json(order: Order) -> dict[str, Any]:
    """An order (OrderOut)."""
    return _fields_json(order)


def level_json(level: Level) -> dict[str, Any]:
    """The latest level of one supply (LevelOut)."""
    return _fields_json(level, without=_LEVEL_INTERNAL)


def history_json(entry: LevelHistory) -> dict[str, Any]:
    """One reported level (HistoryOut)."""
    return _fields_json(entry)


def page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """A page of items and the cursor of the next one."""
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}


class RuleOut(BaseModel):
    """A supply rule (``tenant_id`` null: a platform default)."""

    id: uuid.UUID
    tenant_id: uuid.UUID | None
    region: str
    model: str
    colour: str
    kind: str
    action: str
    threshold_percent: int
    supplier_id: uuid.UUID | None
    revision: int
    specificity: int
    created_at: datetime
    updated_at: datetime


class RulePage(BaseModel):
    """A page of rules."""

    items: list[RuleOut]
    next_after: uuid.UUID | None


class SupplierOut(BaseModel):
    """A supplier; its secret is never shown."""

    id: uuid.UUID
    tenant_id: uuid.UUID | None
    name: str
    webhook_url: str
    created_at: datetime


class SupplierPage(BaseModel):
    """A page of suppliers."""

    items: list[SupplierOut]
    next_after: uuid.UUID | None


class OrderOut(BaseModel):
    """A supply order."""

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


class OrderPage(BaseModel):
    """A page of orders, newest first."""

    items: list[OrderOut]
    next_after: uuid.UUID | None


class LevelOut(BaseModel):
    """The latest level of one supply, and whether a rule acted on it being low."""

    kind: str
    colour: str
    name: str
    level_percent: int | None
    source: str
    reported_at: datetime
    low_since: datetime | None
    low_threshold: int | None


class HistoryOut(BaseModel):
    """One reported level."""

    kind: str
    colour: str
    level_percent: int | None
    reported_at: datetime


class Levels(BaseModel):
    """A printer's supplies: latest levels and recent history."""

    printer_id: uuid.UUID
    items: list[LevelOut]
    history: list[HistoryOut]
