"""Printers' offline policies, as administrators set them, and what a job's routing
looks like to its readers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.routing.domain.commands import SetRoutingPolicy
from services.routing.domain.errors import JobNotFound, PrinterNotFound
from services.routing.domain.model import Policy, Printer, RecordedDecision, Whereabouts
from services.routing.repository import RoutingRepository
from shared.db.uow import Transactions
from shared.errors import FieldError, ValidationFailed
from shared.http.auth import Principal


async def visible_printer(
    repo: RoutingRepository, printer_id: uuid.UUID, who: Principal
) -> Printer:
    """A printer the caller may see; the same 404 for a missing and a foreign one."""
    printer = (await repo.get_printers([printer_id])).get(printer_id)
    if printer is None or not who.can_access(printer.tenant_id):
        raise PrinterNotFound("no such printer")
    return printer


async def get_policy(
    tx: Transactions[RoutingRepository],
    printer_id: uuid.UUID,
    who: Principal,
    default_offline_after_s: int,
) -> Policy:
    """A visible printer's policy, or the default one."""
    async with tx() as uow:
        await visible_printer(uow.repo, printer_id, who)
        stored = (await uow.repo.get_policies([printer_id])).get(printer_id)
    return stored or Policy.default(default_offline_after_s)


async def set_policy(
    tx: Transactions[RoutingRepository],
    printer_id: uuid.UUID,
    cmd: SetRoutingPolicy,
    who: Principal,
) -> Policy:
    """Set a printer's offline policy; the failover printer must be another printer of
    the same tenant."""
    async with tx() as uow:
        printer = await visible_printer(uow.repo, printer_id, who)
        alt_id = cmd.failover_printer_id
        errors: list[FieldError] = []
        if cmd.on_offline == "failover" and alt_id is None:
            errors.append(FieldError("failover_printer_id", "required when on_offline is failover"))
        if cmd.on_offline == "hold" and alt_id is not None:
            errors.append(FieldError("failover_printer_id", "only with on_offline failover"))
        elif alt_id == printer_id:
            errors.append(FieldError("failover_printer_id", "must be another printer"))
        elif alt_id is not None:
            alt = (await uow.repo.get_printers([alt_id])).get(alt_id)
            if alt is None or alt.tenant_id != printer.tenant_id:
                errors.append(FieldError("failover_printer_id", "no such printer in this tenant"))
        if errors:
            raise ValidationFailed("the routing policy is not valid", errors)
        policy = Policy(cmd.on_offline, cmd.offline_after_s, alt_id)
        return await uow.repo.save_policy(printer_id, printer.tenant_id, policy, who.subject)


async def delete_policy(
    tx: Transactions[RoutingRepository], printer_id: uuid.UUID, who: Principal
) -> None:
    """Back to the default policy for a visible printer."""
    async with tx() as uow:
        await visible_printer(uow.repo, printer_id, who)
        await uow.repo.delete_policy(printer_id)


@dataclass(frozen=True)
class JobRouting:
    """A job's decisions, first to last, and where routing last knew it (None: finished)."""

    tenant_id: uuid.UUID
    decisions: list[RecordedDecision]
    where: Whereabouts | None


async def job_routing(
    tx: Transactions[RoutingRepository], job_id: uuid.UUID, who: Principal
) -> JobRouting:
    """A visible job's routing; the same 404 for an unknown and a foreign job."""
    async with tx() as uow:
        decisions = await uow.repo.decisions_of(job_id)
        where = await uow.repo.whereabouts(job_id)
    if not decisions or not who.can_access(decisions[0].tenant_id):
        raise JobNotFound("no such job")
    return JobRouting(decisions[0].tenant_id, decisions, where)
