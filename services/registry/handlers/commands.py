"""Commands for devices: recorded as pending with their event, forgotten on ack."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.registry import repository as repo
from services.registry.domain.events import DeviceCommandIssued
from shared.db.outbox import Emitter
from shared.errors import NotFound, PermanentEventError
from shared.events.contracts.commands import DeviceCommandAcked
from shared.events.registry import DecodedEvent
from shared.http.auth import Principal


async def issue(
    conn: asyncpg.Connection,
    device_id: uuid.UUID,
    name: str,
    payload: dict[str, Any],
    out: Emitter,
    who: Principal | None = None,
) -> uuid.UUID:
    """Queue a command for a printer or connector in the caller's transaction; a
    bridged printer's command goes to its connector, naming the printer."""
    found = await repo.device_holder(conn, device_id)
    if found is None or (who is not None and not who.can_access(found[0])):
        raise NotFound("no such device", code="device-not-found")
    tenant_id, holder, target = found
    command_id, now = uuid.uuid4(), datetime.now(UTC)
    await repo.insert_command(conn, command_id, holder, tenant_id, target, name, payload, now)
    await out.emit(
        conn,
        DeviceCommandIssued(
            command_id=command_id,
            device_id=holder,
            tenant_id=tenant_id,
            target_device_id=target,
            name=name,
            payload=payload,
            issued_at=now,
        ),
        tenant_id=tenant_id,
    )
    return command_id


async def apply_ack(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
    """A device acknowledged a command: it leaves the pending ledger."""
    ack: DeviceCommandAcked = event.data
    before = await repo.ack_command(
        conn, ack.command_id, ack.device_id, ack.outcome, ack.detail, ack.at
    )
    if before is None:
        raise PermanentEventError(f"no command {ack.command_id} for device {ack.device_id}")
