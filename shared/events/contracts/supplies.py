"""Supply orders and low supplies (owner: consumables), on ``consumables.orders`` keyed
by printer_id: the life of supply orders and warnings about low supplies. Notifications
reads them to tell tenants' systems."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from shared.events.envelope import EventData

Kind = Literal["toner", "ink", "drum", "waste", "fuser", "staples", "other"]
Colour = Literal["black", "cyan", "magenta", "yellow", "none", "other"]


class _SupplyEvent(EventData):
    tenant_id: uuid.UUID
    printer_id: uuid.UUID
    kind: Kind
    colour: Colour
    at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.printer_id)


class _OrderEvent(_SupplyEvent):
    order_id: uuid.UUID


class SupplyOrderCreated(_OrderEvent):
    """A low or empty supply matched an ``order`` rule: an order for its replacement."""

    event_type: ClassVar[str] = "supply_order.created"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "consumables.orders"

    supply_name: str = Field(max_length=255)
    level_percent: int = Field(ge=0, le=100)
    threshold_percent: int = Field(ge=0, le=100)
    rule_id: uuid.UUID
    supplier_id: uuid.UUID | None = Field(
        description="Who is asked to deliver; None when the rule names no supplier."
    )
    model: str
    region: str


class SupplyOrderSent(_OrderEvent):
    """The supplier's webhook accepted the order (2xx)."""

    event_type: ClassVar[str] = "supply_order.sent"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "consumables.orders"

    supplier_id: uuid.UUID
    attempts: int = Field(ge=1, description="Webhook attempts it took.")


class SupplyOrderShipped(_OrderEvent):
    """The supplier reported the order shipped."""

    event_type: ClassVar[str] = "supply_order.shipped"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "consumables.orders"

    carrier: str | None = Field(default=None, max_length=200)
    tracking_number: str | None = Field(default=None, max_length=200)


class SupplyOrderDelivered(_OrderEvent):
    """The supplier (or an administrator) reported the order delivered."""

    event_type: ClassVar[str] = "supply_order.delivered"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "consumables.orders"


class SupplyOrderInstalled(_OrderEvent):
    """The printer reported the supply's level back up: the order is closed."""

    event_type: ClassVar[str] = "supply_order.installed"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "consumables.orders"

    level_percent: int = Field(ge=0, le=100)


class SupplyOrderCanceled(_OrderEvent):
    """An administrator canceled the order, or the supply was replaced before the order
    went out."""

    event_type: ClassVar[str] = "supply_order.canceled"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "consumables.orders"

    reason: str = Field(max_length=500)
    by: str = Field(max_length=200, description="Who canceled: a subject, or 'printcloud'.")


class SupplyOrderRejected(_OrderEvent):
    """The supplier's webhook refused the order (a 4xx other than 408/425/429)."""

    event_type: ClassVar[str] = "supply_order.rejected"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "consumables.orders"

    supplier_id: uuid.UUID
    status: int = Field(ge=400, le=499)
    response: str = Field(max_length=2000, description="The start of the supplier's answer.")


class SupplyLevelWarning(_SupplyEvent):
    """A low or empty supply matched a ``warn`` rule (once per low episode)."""

    event_type: ClassVar[str] = "supply.level_warning"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "consumables.orders"

    supply_name: str = Field(max_length=255)
    level_percent: int = Field(ge=0, le=100)
    threshold_percent: int = Field(ge=0, le=100)
    rule_id: uuid.UUID


EVENTS = (
    SupplyOrderCreated,
    SupplyOrderSent,
    SupplyOrderShipped,
    SupplyOrderDelivered,
    SupplyOrderInstalled,
    SupplyOrderCanceled,
    SupplyOrderRejected,
    SupplyLevelWarning,
)
