"""Registry command handlers: load, decide, save and emit in one transaction."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.registry.domain.commands import CreateTenant, RegisterPrinter, UpdatePrinter
from services.registry.domain.errors import DuplicateName, PrinterNotFound
from services.registry.domain.events import PrinterRegistered, PrinterUpdated, TenantCreated
from services.registry.domain.model import Printer, Tenant
from services.registry.handlers.tenancy import target_tenant, unknown_tenant
from services.registry.repository import RegistryRepository
from shared.db.uow import AlreadyExists, Transactions, UnitOfWork
from shared.errors import FieldError
from shared.http.auth import Principal


def _name_taken(name: str) -> DuplicateName:
    return DuplicateName(
        f"the tenant has a printer named {name!r}",
        [FieldError("name", "already taken in this tenant")],
    )


def _state(p: Printer) -> dict[str, object]:
    """The printer's state as carried by printer events."""
    return {
        "printer_id": p.id,
        "tenant_id": p.tenant_id,
        "revision": p.revision,
        "name": p.name,
        "model": p.model,
        "region": p.region,
        "location": p.location,
    }


async def create_tenant(tx: Transactions[RegistryRepository], cmd: CreateTenant) -> Tenant:
    """Create a tenant and emit tenant.created."""
    tenant_id = uuid.uuid4()
    async with tx() as uow:
        try:
            tenant = await uow.repo.tenants.insert(tenant_id, cmd.name)
        except AlreadyExists:
            raise DuplicateName(
                f"a tenant named {cmd.name!r} exists", [FieldError("name", "already taken")]
            ) from None
        await uow.emit(TenantCreated(tenant_id=tenant_id, name=cmd.name), tenant_id=tenant_id)
    return tenant


async def register_printer(
    tx: Transactions[RegistryRepository], cmd: RegisterPrinter, who: Principal
) -> Printer:
    """Add a printer to the caller's tenant (or the named one, for operators)."""
    tenant_id = target_tenant(who, cmd.tenant_id)
    async with tx() as uow:
        return await add_printer(
            uow, uuid.uuid4(), tenant_id, cmd.name, cmd.model, cmd.region, cmd.location
        )


async def add_printer(
    uow: UnitOfWork[RegistryRepository],
    printer_id: uuid.UUID,
    tenant_id: uuid.UUID,
    name: str,
    model: str,
    region: str,
    location: str | None,
) -> Printer:
    """Insert a printer in the caller's unit of work and emit printer.registered."""
    now = datetime.now(UTC)
    draft = Printer(
        id=printer_id, tenant_id=tenant_id, name=name, model=model, region=region,
        location=location, connection_state="unknown", revision=1, created_at=now,
        updated_at=now,
    )  # fmt: skip
    if await uow.repo.tenants.get(tenant_id) is None:
        raise unknown_tenant()
    try:
        printer = await uow.repo.printers.insert(draft)
    except AlreadyExists:
        raise _name_taken(name) from None
    await uow.emit(PrinterRegistered(**_state(printer)), tenant_id=tenant_id)
    return printer


async def update_printer(
    tx: Transactions[RegistryRepository], printer_id: uuid.UUID, cmd: UpdatePrinter, who: Principal
) -> Printer:
    """Apply a partial update; emits printer.updated only when something changed."""
    async with tx() as uow:
        # The row lock orders concurrent updates, and so their outbox rows.
        current = await uow.repo.printers.get(printer_id, for_update=True)
        if current is None or not who.can_access(current.tenant_id):
            raise PrinterNotFound("no such printer")
        printer, changed = current.updated(cmd.changes(), datetime.now(UTC))
        if not changed:
            return current
        try:
            await uow.repo.printers.save(printer)
        except AlreadyExists:
            raise _name_taken(printer.name) from None
        await uow.emit(
            PrinterUpdated(**_state(printer), changed=changed), tenant_id=printer.tenant_id
        )
    return printer
