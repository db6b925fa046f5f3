"""SQL for counters' own schema (asyncpg, no ORM), one class per area, all returning
domain objects; :class:`CountersRepository` is all of them on one connection."""

from __future__ import annotations

from services.counters.repository.quotas import QuotaRepository
from services.counters.repository.readings import ReadingRepository
from services.counters.repository.usage import UsageRepository


class CountersRepository(ReadingRepository, UsageRepository, QuotaRepository):
    """Every table of counters' schema, on one connection (one transaction)."""


__all__ = ["CountersRepository", "QuotaRepository", "ReadingRepository", "UsageRepository"]
