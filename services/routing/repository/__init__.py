"""SQL for routing's own schema: read models, policies, tracked jobs and decisions."""

from __future__ import annotations

import asyncpg

from services.routing.repository.jobs import SWEEP_LOCK, Jobs
from services.routing.repository.print_policies import PrintPolicies
from services.routing.repository.replicas import PRINTERS, VIRTUAL_PRINTERS, Replicas


class RoutingRepository(Replicas, Jobs, PrintPolicies):
    """Routing's repository on one connection (the caller's transaction): domain
    objects in, domain objects out."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn


__all__ = ["PRINTERS", "SWEEP_LOCK", "VIRTUAL_PRINTERS", "RoutingRepository"]
