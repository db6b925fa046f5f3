"""Events consumables publishes on ``consumables.orders`` (keyed by printer_id): the
life of supply orders and warnings about low supplies. The contracts live in
:mod:`shared.events.contracts.supplies`, where the services that read them find them."""

from __future__ import annotations

from shared.events.contracts.supplies import (
    Colour,
    Kind,
    SupplyLevelWarning,
    SupplyOrderCanceled,
    SupplyOrderCreated,
    SupplyOrderDelivered,
    SupplyOrderInstalled,
    SupplyOrderRejected,
    SupplyOrderSent,
    SupplyOrderShipped,
)

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

__all__ = [
    "EVENTS",
    "Colour",
    "Kind",
    "SupplyLevelWarning",
    "SupplyOrderCanceled",
    "SupplyOrderCreated",
    "SupplyOrderDelivered",
    "SupplyOrderInstalled",
    "SupplyOrderRejected",
    "SupplyOrderSent",
    "SupplyOrderShipped",
]
