"""What auth learns from other services' topics: devices claimed in the registry, and
which printers each connector bridges."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.auth.handlers import claims
from services.auth.repository import AuthRepository
from services.auth.settings import AuthSettings
from shared.db.uow import PostgresTransactions, UnitOfWork
from shared.events.contracts.devices import ConnectorDevicesChanged, DeviceClaimed
from shared.events.registry import DecodedEvent
from shared.kafka.consumer import Handler
from shared.service import ConsumerSpec, Runtime


def claimed_handler(tx: PostgresTransactions[AuthRepository]) -> Handler:
    """Issue the claimed device's credential, in the inbox transaction; what it announces
    is caused by the claim."""

    async def apply(uow: UnitOfWork[AuthRepository], event: DecodedEvent[Any]) -> None:
        await claims.device_claimed(uow, event.data)

    return tx.applying(apply)


async def connector_devices_changed(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
    """Remember the printers a connector bridges (an older revision changes nothing)."""
    await claims.connector_devices_changed(AuthRepository(conn), event.data)


def consumers(rt: Runtime[AuthSettings]) -> list[ConsumerSpec]:
    """Auth's consumer groups (never rename one: a new name replays the topic)."""
    tx = rt.transactions(AuthRepository)
    return [
        ConsumerSpec(
            name=f"{rt.schema}-device-claims",
            topics=[DeviceClaimed.topic],
            handlers={DeviceClaimed.event_type: claimed_handler(tx)},
        ),
        ConsumerSpec(
            name=f"{rt.schema}-connector-devices",
            topics=[ConnectorDevicesChanged.topic],
            handlers={ConnectorDevicesChanged.event_type: connector_devices_changed},
        ),
    ]
