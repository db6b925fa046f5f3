"""SQL for notifications' own schema (asyncpg, no ORM; search_path is the service's
schema), all returning domain objects; :class:`NotificationsRepository` is all of them on
one connection."""

from __future__ import annotations

from services.notifications.repository.deliveries import DeliveryRepository
from services.notifications.repository.endpoints import EndpointRepository


class NotificationsRepository(EndpointRepository, DeliveryRepository):
    """Every table of notifications' schema, on one connection (one transaction)."""


__all__ = ["DeliveryRepository", "EndpointRepository", "NotificationsRepository"]
