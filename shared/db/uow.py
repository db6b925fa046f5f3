"""The unit of work: what a handler changes, and the events it announces, commit together.

A handler is written against :class:`UnitOfWork` — a service's repository (domain
objects in, domain objects out) plus :meth:`UnitOfWork.emit` — and opens one with the
service's :class:`Transactions`::

    async def create_rule(tx: Transactions[RuleRepository], cmd: CreateRule) -> Rule:
        async with tx() as uow:
            rule = await uow.repo.insert_rule(Rule.new(cmd))
            await uow.emit(RuleCreated.of(rule), tenant_id=rule.tenant_id)
            return rule

In a service, :class:`PostgresTransactions` opens a Postgres transaction on the
service's pool, builds the repository on its connection and writes events to the
outbox in the same transaction. In a unit test,
:class:`shared.testing.uow.InMemoryTransactions` runs the same handler against an
in-memory repository (no database, no broker) and keeps the events it announced.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

import asyncpg

from shared.db.outbox import Emitter
from shared.events.envelope import EventData
from shared.events.registry import DecodedEvent

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class UnitOfWork(Protocol[R_co]):
    """One transaction: the repository it reads and writes, and its outbox."""

    @property
    def repo(self) -> R_co:
        """The service's repository, bound to this transaction."""
        ...

    async def emit(self, data: EventData, *, tenant_id: uuid.UUID | None) -> None:
        """Announce ``data`` when (and only if) this unit of work commits."""
        ...


class Transactions(Protocol[R_co]):
    """Opens units of work: ``async with tx() as uow: ...`` commits on a normal exit and
    rolls back (repository changes and events alike) when the block raises."""

    def __call__(self) -> contextlib.AbstractAsyncContextManager[UnitOfWork[R_co]]: ...


class _PostgresUnitOfWork(Generic[R]):
    def __init__(self, repo: R, conn: asyncpg.Connection, out: Emitter) -> None:
        self._repo = repo
        self._conn = conn
        self._out = out

    @property
    def repo(self) -> R:
        return self._repo

    async def emit(self, data: EventData, *, tenant_id: uuid.UUID | None) -> None:
        await self._out.emit(self._conn, data, tenant_id=tenant_id)


class PostgresTransactions(Generic[R]):
    """Units of work on a service's pool: one Postgres transaction each, the repository
    built on its connection, events written to the service's outbox in it."""

    def __init__(
        self, pool: asyncpg.Pool, out: Emitter, repository: Callable[[asyncpg.Connection], R]
    ) -> None:
        self.pool = pool
        self.out = out
        self.repository = repository

    def with_emitter(self, out: Emitter) -> PostgresTransactions[R]:
        """The same transactions announcing through ``out`` (another correlation id)."""
        return PostgresTransactions(self.pool, out, self.repository)

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[UnitOfWork[R]]:
        async with self.pool.acquire() as conn, conn.transaction():
            yield _PostgresUnitOfWork(self.repository(conn), conn, self.out)

    @contextlib.asynccontextmanager
    async def on(self, conn: asyncpg.Connection) -> AsyncIterator[UnitOfWork[R]]:
        """A unit of work inside a transaction the caller already holds on ``conn``
        (a consumer applying an event with its inbox record)."""
        async with on_connection(conn, self.out, self.repository)() as uow:
            yield uow

    def in_inbox(
        self, conn: asyncpg.Connection, cause: DecodedEvent[Any] | None = None
    ) -> Transactions[R]:
        """Units of work inside the inbox transaction on ``conn``; what they announce is
        caused by ``cause`` (same correlation id, the event as causation)."""
        out = self.out.caused_by(cause.envelope) if cause is not None else self.out
        return on_connection(conn, out, self.repository)

    def applying(
        self, handler: Callable[[UnitOfWork[R], DecodedEvent[Any]], Awaitable[None]]
    ) -> Callable[[asyncpg.Connection, DecodedEvent[Any]], Awaitable[None]]:
        """A consumer's handler: ``handler`` runs in a unit of work inside the inbox
        transaction, and what it announces is caused by the event it applies."""

        async def apply(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
            async with self.in_inbox(conn, event)() as uow:
                await handler(uow, event)

        return apply


def on_connection(
    conn: asyncpg.Connection, out: Emitter, repository: Callable[[asyncpg.Connection], R]
) -> Transactions[R]:
    """Units of work on a connection the caller holds (each a savepoint of its open
    transaction), announcing through ``out``: no pool needed."""

    @contextlib.asynccontextmanager
    async def unit() -> AsyncIterator[UnitOfWork[R]]:
        async with conn.transaction():
            yield _PostgresUnitOfWork(repository(conn), conn, out)

    return unit


class AlreadyExists(Exception):
    """A repository refused a write that would repeat a unique value (a name, an email, a
    key). Repositories raise it in place of their database's error, so handlers — and
    the in-memory repositories of unit tests — speak of the rule, not of the driver."""
