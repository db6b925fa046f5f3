"""Commands for devices: recorded as pending with their event, forgotten on ack."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.registry.domain.commands import IssueCommand
from services.registry.domain.events import DeviceCommandIssued
from services.registry.domain.model import DeviceCommand
from services.registry.repository import RegistryRepository
from shared.db.uow import Transactions, UnitOfWork
from shared.errors import NotFound, PermanentEventError
from shared.events.contracts.commands import DeviceCommandAcked
from shared.http.auth import Principal


def no_device() -> NotFound:
    """The one answer for a device that is missing or belongs to someone else."""
    return NotFound("no such device", code="device-not-found")


def no_command() -> NotFound:
    """The one answer for a command that is missing or not the caller's to see."""
    return NotFound("no such command", code="command-not-found")


async def issue(
    uow: UnitOfWork[RegistryRepository],
    device_id: uuid.UUID,
    name: str,
    payload: dict[str, Any],
    who: Principal | None = None,
) -> uuid.UUID:
    """Queue a command for a printer or connector in the caller's unit of work; a
    bridged printer's command goes to its connector, naming the printer."""
    route = await uow.repo.commands.route(device_id)
    if route is None or (who is not None and not who.can_access(route.tenant_id)):
        raise no_device()
    command = DeviceCommand(
        command_id=uuid.uuid4(), device_id=route.holder, tenant_id=route.tenant_id,
        target_device_id=route.target, name=name, payload=payload, issued_at=datetime.now(UTC),
    )  # fmt: skip
    await uow.repo.commands.insert(command)
    await uow.emit(
        DeviceCommandIssued(
            command_id=command.command_id,
            device_id=command.device_id,
            tenant_id=command.tenant_id,
            target_device_id=command.target_device_id,
            name=name,
            payload=payload,
            issued_at=command.issued_at,
        ),
        tenant_id=command.tenant_id,
    )
    return command.command_id


async def issue_command(
    tx: Transactions[RegistryRepository], device_id: uuid.UUID, cmd: IssueCommand, who: Principal
) -> uuid.UUID:
    """Queue a command an administrator asked for (a device of the caller's tenant)."""
    async with tx() as uow:
        return await issue(uow, device_id, cmd.name, cmd.payload, who)


async def apply_ack(repo: RegistryRepository, ack: DeviceCommandAcked) -> None:
    """A device acknowledged a command: it leaves the pending ledger."""
    before = await repo.commands.ack(ack.command_id, ack.device_id, ack.outcome, ack.detail, ack.at)
    if before is None:
        raise PermanentEventError(f"no command {ack.command_id} for device {ack.device_id}")
