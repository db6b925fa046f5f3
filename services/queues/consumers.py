"""What the queues learn from other services' topics, and how they apply it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from services.queues.handlers.common import Work
from services.queues.handlers.release import open_session
from services.queues.handlers.routing import apply_routed, apply_status
from services.queues.repository import QueuesRepository
from services.queues.settings import QueuesSettings
from shared.errors import PermanentEventError
from shared.events.contracts.devices import ConnectorDevicesChanged
from shared.events.contracts.gateway import DeviceJobStatusReported
from shared.events.contracts.jobs import JobRouted, JobRoutedV1
from shared.events.contracts.registry import (
    PrinterCapabilitiesChanged,
    PrinterConnectionChanged,
    PrinterRegistered,
    PrinterUpdated,
    VirtualPrinterCreated,
    VirtualPrinterUpdated,
)
from shared.events.contracts.sessions import DeviceLoginApproved
from shared.events.contracts.users import UserCreated, UserDeleted, UserUpdated
from shared.events.registry import DecodedEvent
from shared.kafka.consumer import Handler
from shared.service import ConsumerSpec, Runtime

Event = DecodedEvent[Any]


async def printer_state(conn: asyncpg.Connection, event: Event) -> None:
    """printer.registered / printer.updated: name, model, region (newest revision wins)."""
    await QueuesRepository(conn).describe_printer(event.data)


async def printer_capabilities(conn: asyncpg.Connection, event: Event) -> None:
    """printer.capabilities_changed: the latest capabilities (newest version wins)."""
    await QueuesRepository(conn).save_capabilities(event.data)


async def printer_connection(conn: asyncpg.Connection, event: Event) -> None:
    """printer.connection_changed: online or offline."""
    data: PrinterConnectionChanged = event.data
    await QueuesRepository(conn).set_connection(
        data.printer_id, data.tenant_id, data.connection_state, data.at
    )


async def virtual_printer(conn: asyncpg.Connection, event: Event) -> None:
    """virtual_printer.created / updated: its members (newest revision wins)."""
    await QueuesRepository(conn).describe_virtual_printer(event.data)


async def connector_devices(conn: asyncpg.Connection, event: Event) -> None:
    """connector.devices_changed: the connector now holds exactly these printers."""
    data: ConnectorDevicesChanged = event.data
    try:
        printers = [uuid.UUID(device["printer_id"]) for device in data.devices]
    except (KeyError, ValueError) as exc:
        raise PermanentEventError(f"devices: not a list of printer ids ({exc})") from None
    await QueuesRepository(conn).set_connector_devices(data, printers)


async def user_state(conn: asyncpg.Connection, event: Event) -> None:
    """user.created / updated / deleted: the display name shown on printers."""
    data = event.data
    repo = QueuesRepository(conn)
    if isinstance(data, UserDeleted):
        await repo.upsert_user(data.user_id, data.tenant_id, "", data.revision, True)
    else:
        await repo.upsert_user(
            data.user_id, data.tenant_id, data.display_name, data.revision, False
        )


def consumers(rt: Runtime[QueuesSettings]) -> list[ConsumerSpec]:
    """The queues' consumer groups: read models, then the jobs' own flow."""
    settings = rt.settings
    tx = rt.transactions(QueuesRepository.of_schema(rt.schema))

    def applying(handler: Callable[[Work, Any], Awaitable[None]]) -> Handler:
        """The handler (given the payload) in a unit of work inside the inbox transaction."""

        async def on_payload(uow: Work, event: Event) -> None:
            await handler(uow, event.data)

        return tx.applying(on_payload)

    async def routed(uow: Work, data: JobRouted | JobRoutedV1) -> None:
        decision = data.upgraded() if isinstance(data, JobRoutedV1) else data
        await apply_routed(uow, decision, settings.held_job_ttl_s)

    return [
        ConsumerSpec(
            name=f"{rt.schema}-read-models",
            topics=[
                PrinterRegistered.topic,
                VirtualPrinterCreated.topic,
                ConnectorDevicesChanged.topic,
                UserCreated.topic,
            ],
            handlers={
                PrinterRegistered.event_type: printer_state,
                PrinterUpdated.event_type: printer_state,
                PrinterCapabilitiesChanged.event_type: printer_capabilities,
                PrinterConnectionChanged.event_type: printer_connection,
                VirtualPrinterCreated.event_type: virtual_printer,
                VirtualPrinterUpdated.event_type: virtual_printer,
                ConnectorDevicesChanged.event_type: connector_devices,
                UserCreated.event_type: user_state,
                UserUpdated.event_type: user_state,
                UserDeleted.event_type: user_state,
            },
        ),
        ConsumerSpec(
            name=f"{rt.schema}-jobs",
            topics=[JobRouted.topic, DeviceJobStatusReported.topic, DeviceLoginApproved.topic],
            handlers={
                JobRouted.event_type: applying(routed),
                DeviceJobStatusReported.event_type: applying(apply_status),
                DeviceLoginApproved.event_type: applying(open_session),
            },
        ),
    ]
