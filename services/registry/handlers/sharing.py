"""Sharing: with whom a printer or virtual printer is shared (administrators decide;
``printer.sharing_changed`` / ``virtual_printer.sharing_changed`` announce the full
sharing through the outbox)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from services.registry.domain.errors import PrinterNotFound, VirtualPrinterNotFound
from services.registry.domain.events import PrinterSharingChanged, VirtualPrinterSharingChanged
from services.registry.repository import RegistryRepository
from shared.db.uow import Transactions
from shared.errors import DomainError, FieldError, ValidationFailed
from shared.http.auth import Principal
from shared.sharing import SharedWith

Kind = Literal["printer", "virtual_printer"]


@dataclass(frozen=True)
class Shared:
    """A printer's or virtual printer's sharing and its revision (0: never changed)."""

    subject_id: uuid.UUID
    kind: Kind
    shared_with: SharedWith
    revision: int


def _not_found(kind: Kind) -> DomainError:
    if kind == "printer":
        return PrinterNotFound("no such printer")
    return VirtualPrinterNotFound("no such virtual printer")


async def _tenant_of(repo: RegistryRepository, kind: Kind, subject_id: uuid.UUID) -> uuid.UUID:
    """The tenant of the printer or virtual printer, or its NotFound."""
    found = (
        await repo.printers.get(subject_id, for_update=True)
        if kind == "printer"
        else await repo.virtual_printers.get(subject_id, for_update=True)
    )
    if found is None:
        raise _not_found(kind)
    return found.tenant_id


async def sharing_of(
    tx: Transactions[RegistryRepository], kind: Kind, subject_id: uuid.UUID, who: Principal
) -> Shared:
    """The sharing of a printer the caller may see (another tenant's is not found)."""
    async with tx() as uow:
        tenant_id = await _tenant_of(uow.repo, kind, subject_id)
        if not who.can_access(tenant_id):
            raise _not_found(kind)
        shared, revision = await uow.repo.sharing.get(subject_id)
    return Shared(subject_id, kind, shared, revision)


async def share(
    tx: Transactions[RegistryRepository],
    kind: Kind,
    subject_id: uuid.UUID,
    cmd: SharedWith,
    who: Principal,
) -> Shared:
    """Replace the sharing; groups must be groups of the tenant (as auth announced them).
    Announces the change only when the sharing really changed."""
    wanted = cmd.normalised()
    async with tx() as uow:
        tenant_id = await _tenant_of(uow.repo, kind, subject_id)
        if not who.can_access(tenant_id):
            raise _not_found(kind)
        known = await uow.repo.sharing.known_groups(tenant_id)
        unknown = [
            FieldError(f"group_ids.{i}", "not a group of this tenant")
            for i, g in enumerate(cmd.group_ids)
            if g not in known
        ]
        if unknown:
            raise ValidationFailed("some groups are not groups of this tenant", unknown)
        current, revision = await uow.repo.sharing.get(subject_id)
        if current.normalised() == wanted:
            return Shared(subject_id, kind, current, revision)
        revision += 1
        await uow.repo.sharing.put(subject_id, tenant_id, kind, wanted, revision)
        event = (
            PrinterSharingChanged(
                printer_id=subject_id, tenant_id=tenant_id, revision=revision, shared_with=wanted
            )
            if kind == "printer"
            else VirtualPrinterSharingChanged(
                virtual_printer_id=subject_id, tenant_id=tenant_id, revision=revision,
                shared_with=wanted,
            )
        )  # fmt: skip
        await uow.emit(event, tenant_id=tenant_id)
    return Shared(subject_id, kind, wanted, revision)
