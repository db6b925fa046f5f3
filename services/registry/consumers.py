"""What the registry learns from other services' topics, and how it applies it."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.registry.handlers import commands, devices
from services.registry.repository import RegistryRepository
from services.registry.settings import RegistrySettings
from shared.db.uow import PostgresTransactions, UnitOfWork
from shared.events.contracts.commands import DeviceCommandAcked
from shared.events.contracts.gateway import (
    DeviceCapabilitiesReported,
    DeviceConnected,
    DeviceDisconnected,
    DeviceStatusReported,
)
from shared.events.registry import DecodedEvent
from shared.kafka.consumer import Handler
from shared.service import ConsumerSpec, Runtime


def device_state_handler(tx: PostgresTransactions[RegistryRepository]) -> Handler:
    """Apply a capabilities report, a presence change or a connector's status report on
    a bridged printer in the inbox transaction; what it
    announces is caused by the device's event."""

    async def apply(uow: UnitOfWork[RegistryRepository], event: DecodedEvent[Any]) -> None:
        if isinstance(event.data, DeviceCapabilitiesReported):
            await devices.capabilities_reported(uow, event.data)
        elif isinstance(event.data, DeviceStatusReported):
            await devices.status_reported(uow, event.data)
        else:
            await devices.presence_changed(uow, event.data)

    return tx.applying(apply)


async def command_acked(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
    """A device acknowledged a command: it leaves the pending ledger."""
    await commands.apply_ack(RegistryRepository(conn), event.data)


def consumers(rt: Runtime[RegistrySettings]) -> list[ConsumerSpec]:
    """The registry's consumer groups."""
    device_state = device_state_handler(rt.transactions(RegistryRepository))
    return [
        ConsumerSpec(
            name=f"{rt.schema}-command-ledger",
            topics=[DeviceCommandAcked.topic],
            handlers={DeviceCommandAcked.event_type: command_acked},
        ),
        ConsumerSpec(
            name=f"{rt.schema}-device-state",
            topics=[DeviceCapabilitiesReported.topic, DeviceConnected.topic],
            handlers={
                DeviceCapabilitiesReported.event_type: device_state,
                DeviceConnected.event_type: device_state,
                DeviceDisconnected.event_type: device_state,
                DeviceStatusReported.event_type: device_state,
            },
        ),
    ]
