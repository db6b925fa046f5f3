"""Units of work in memory: a service's handlers run against a fake repository, with
no database and no broker, in milliseconds (see :mod:`shared.db.uow`)."""

from __future__ import annotations

import contextlib
import copy
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from shared.events.envelope import EventData

R = TypeVar("R")


@dataclass(frozen=True)
class Announced:
    """An event a committed unit of work announced."""

    data: EventData
    tenant_id: uuid.UUID | None


class _MemoryUnitOfWork(Generic[R]):
    def __init__(self, repo: R) -> None:
        self._repo = repo
        self.pending: list[Announced] = []

    @property
    def repo(self) -> R:
        return self._repo

    async def emit(self, data: EventData, *, tenant_id: uuid.UUID | None) -> None:
        self.pending.append(Announced(data, tenant_id))


@dataclass
class InMemoryTransactions(Generic[R]):
    """Units of work over one in-memory repository. A block that raises leaves the
    repository as it was before the block (its state is snapshotted on entry) and
    announces nothing; a block that completes appends its events to ``events``."""

    repo: R
    events: list[Announced] = field(default_factory=list)
    commits: int = 0
    rollbacks: int = 0

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[_MemoryUnitOfWork[R]]:
        snapshot = copy.deepcopy(vars(self.repo))
        uow = _MemoryUnitOfWork(self.repo)
        try:
            yield uow
        except BaseException:
            vars(self.repo).clear()
            vars(self.repo).update(snapshot)
            self.rollbacks += 1
            raise
        self.events.extend(uow.pending)
        self.commits += 1

    def announced(self, event_type: type[EventData] | None = None) -> list[EventData]:
        """The payloads announced so far (of one type, when given), in order."""
        return [a.data for a in self.events if event_type is None or isinstance(a.data, event_type)]
