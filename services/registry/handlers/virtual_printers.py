"""Virtual printers: shared pull-print queues over some of a tenant's printers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from services.registry import repository as repo
from services.registry.domain.commands import CreateVirtualPrinter, UpdateVirtualPrinter
from services.registry.domain.errors import DuplicateName, VirtualPrinterNotFound
from services.registry.domain.events import VirtualPrinterCreated, VirtualPrinterUpdated
from services.registry.domain.model import VirtualPrinter
from services.registry.handlers.tenancy import target_tenant, unknown_tenant
from shared.db.outbox import Emitter
from shared.errors import FieldError, ValidationFailed
from shared.http.auth import Principal


def _state(vp: VirtualPrinter) -> dict[str, object]:
    return {
        "virtual_printer_id": vp.id,
        "tenant_id": vp.tenant_id,
        "revision": vp.revision,
        "name": vp.name,
        "members": list(vp.members),
    }


def _name_taken(name: str) -> DuplicateName:
    return DuplicateName(
        f"the tenant has a virtual printer named {name!r}",
        [FieldError("name", "already taken in this tenant")],
    )


async def _check_members(
    conn: asyncpg.Connection, tenant_id: uuid.UUID, members: list[uuid.UUID]
) -> None:
    # Another tenant's printer is refused exactly like a missing one.
    bad = set(await repo.foreign_or_missing(conn, tenant_id, members))
    if bad:
        raise ValidationFailed(
            "some members are not printers of this tenant",
            [
                FieldError(f"members.{i}", "unknown printer")
                for i, m in enumerate(members)
                if m in bad
            ],
        )


async def create_virtual_printer(
    pool: asyncpg.Pool, cmd: CreateVirtualPrinter, who: Principal, out: Emitter
) -> VirtualPrinter:
    """Create a virtual printer whose members are printers of the same tenant."""
    tenant_id = target_tenant(who, cmd.tenant_id)
    now = datetime.now(UTC)
    vp = VirtualPrinter(
        id=uuid.uuid4(), tenant_id=tenant_id, name=cmd.name, revision=1,
        members=tuple(dict.fromkeys(cmd.members)), created_at=now, updated_at=now,
    )  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        if await repo.get_tenant(conn, tenant_id) is None:
            raise unknown_tenant()
        await _check_members(conn, tenant_id, list(vp.members))
        try:
            await repo.insert_virtual_printer(conn, vp)
        except asyncpg.UniqueViolationError:
            raise _name_taken(cmd.name) from None
        await out.emit(conn, VirtualPrinterCreated(**_state(vp)), tenant_id=tenant_id)
    return vp


async def update_virtual_printer(
    pool: asyncpg.Pool, vp_id: uuid.UUID, cmd: UpdateVirtualPrinter, who: Principal, out: Emitter
) -> VirtualPrinter:
    """Rename and/or replace members; emits virtual_printer.updated when something changed."""
    async with pool.acquire() as conn, conn.transaction():
        current = await repo.get_virtual_printer(conn, vp_id, for_update=True)
        if current is None or not who.can_access(current.tenant_id):
            raise VirtualPrinterNotFound("no such virtual printer")
        after, changed = current.updated(cmd.name, cmd.members, datetime.now(UTC))
        if not changed:
            return current
        await _check_members(conn, after.tenant_id, list(after.members))
        try:
            await repo.save_virtual_printer(conn, after)
        except asyncpg.UniqueViolationError:
            raise _name_taken(after.name) from None
        await out.emit(
            conn, VirtualPrinterUpdated(**_state(after), changed=changed), tenant_id=after.tenant_id
        )
    return after
