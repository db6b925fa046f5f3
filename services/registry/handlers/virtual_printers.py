"""Virtual printers: shared pull-print queues over some of a tenant's printers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.registry.domain.commands import CreateVirtualPrinter, UpdateVirtualPrinter
from services.registry.domain.errors import DuplicateName, VirtualPrinterNotFound
from services.registry.domain.events import VirtualPrinterCreated, VirtualPrinterUpdated
from services.registry.domain.model import VirtualPrinter
from services.registry.handlers.tenancy import target_tenant, unknown_tenant
from services.registry.repository import RegistryRepository
from shared.db.uow import AlreadyExists, Transactions
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
    repo: RegistryRepository, tenant_id: uuid.UUID, members: list[uuid.UUID]
) -> None:
    # Another tenant's printer is refused exactly like a missing one.
    bad = set(await repo.printers.foreign_or_missing(tenant_id, members))
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
    tx: Transactions[RegistryRepository], cmd: CreateVirtualPrinter, who: Principal
) -> VirtualPrinter:
    """Create a virtual printer whose members are printers of the same tenant."""
    tenant_id = target_tenant(who, cmd.tenant_id)
    now = datetime.now(UTC)
    vp = VirtualPrinter(
        id=uuid.uuid4(), tenant_id=tenant_id, name=cmd.name, revision=1,
        members=tuple(dict.fromkeys(cmd.members)), created_at=now, updated_at=now,
    )  # fmt: skip
    async with tx() as uow:
        if await uow.repo.tenants.get(tenant_id) is None:
            raise unknown_tenant()
        await _check_members(uow.repo, tenant_id, list(vp.members))
        try:
            await uow.repo.virtual_printers.insert(vp)
        except AlreadyExists:
            raise _name_taken(cmd.name) from None
        await uow.emit(VirtualPrinterCreated(**_state(vp)), tenant_id=tenant_id)
    return vp


async def update_virtual_printer(
    tx: Transactions[RegistryRepository],
    vp_id: uuid.UUID,
    cmd: UpdateVirtualPrinter,
    who: Principal,
) -> VirtualPrinter:
    """Rename and/or replace members; emits virtual_printer.updated when something changed."""
    async with tx() as uow:
        current = await uow.repo.virtual_printers.get(vp_id, for_update=True)
        if current is None or not who.can_access(current.tenant_id):
            raise VirtualPrinterNotFound("no such virtual printer")
        after, changed = current.updated(cmd.name, cmd.members, datetime.now(UTC))
        if not changed:
            return current
        await _check_members(uow.repo, after.tenant_id, list(after.members))
        try:
            await uow.repo.virtual_printers.save(after)
        except AlreadyExists:
            raise _name_taken(after.name) from None
        await uow.emit(
            VirtualPrinterUpdated(**_state(after), changed=changed), tenant_id=after.tenant_id
        )
    return after
