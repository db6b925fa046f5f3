"""What counters reads: devices' counter readings, completed jobs, its own roll-ups,
and the groups of auth (for the accounting export's group rows).

Each handler runs in the consumer's inbox transaction: its unit of work is opened on
the inbox connection, and the events it announces are caused by the one consumed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from services.counters.domain.events import UsageRolledUp
from services.counters.handlers import usage
from services.counters.handlers.readings import ReadingHandler
from services.counters.repository import CountersRepository
from services.counters.settings import CountersSettings
from shared.db.uow import PostgresTransactions, Transactions
from shared.events.contracts.gateway import DeviceCountersReported
from shared.events.contracts.groups import GroupCreated, GroupDeleted, GroupUpdated
from shared.events.contracts.jobs import JobCompleted
from shared.events.registry import DecodedEvent
from shared.kafka.consumer import BatchHandler, Handler
from shared.service import ConsumerSpec, Runtime

Counters = PostgresTransactions[CountersRepository]


def transactions(rt: Runtime[CountersSettings]) -> Counters:
    """Units of work on counters' schema, announcing through its outbox."""
    return rt.transactions(CountersRepository)


def in_inbox(
    tx: Counters, conn: asyncpg.Connection, cause: DecodedEvent[Any] | None = None
) -> Transactions[CountersRepository]:
    """Units of work inside the inbox transaction on ``conn``; what they announce is
    caused by ``cause``."""
    return tx.in_inbox(conn, cause)


def on_event(
    tx: Counters,
    handle: Callable[[Transactions[CountersRepository], DecodedEvent[Any]], Awaitable[Any]],
) -> Handler:
    """A consumer handler applying each event with ``handle`` in the inbox transaction."""

    async def apply(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
        await handle(in_inbox(tx, conn, event), event)

    return apply


def on_rollups(tx: Counters) -> BatchHandler:
    """usage.rolled_up, a batch at a time."""

    async def apply(conn: asyncpg.Connection, events: list[DecodedEvent[Any]]) -> None:
        await usage.keep_windows(in_inbox(tx, conn), [e.data for e in events])

    return apply


def consumers(rt: Runtime[CountersSettings]) -> list[ConsumerSpec]:
    """Counters' consumer groups (never rename one: a new name replays the topic)."""
    tx = transactions(rt)
    readings = f"{rt.schema}-device-counters"
    return [
        ConsumerSpec(
            name=readings,
            topics=[DeviceCountersReported.topic],
            handlers={DeviceCountersReported.event_type: on_event(tx, ReadingHandler(readings))},
        ),
        ConsumerSpec(
            name=f"{rt.schema}-job-usage",
            topics=[JobCompleted.topic],
            handlers={
                JobCompleted.event_type: on_event(
                    tx, lambda t, event: usage.record_completed(t, event.data)
                )
            },
        ),
        ConsumerSpec(
            name=f"{rt.schema}-groups",
            topics=[GroupCreated.topic],
            handlers={
                kind.event_type: on_event(tx, lambda t, event: usage.group_changed(t, event.data))
                for kind in (GroupCreated, GroupUpdated, GroupDeleted)
            },
        ),
        ConsumerSpec(
            name=f"{rt.schema}-usage-windows",
            topics=[UsageRolledUp.topic],
            batch_handlers={UsageRolledUp.event_type: on_rollups(tx)},
        ),
    ]
