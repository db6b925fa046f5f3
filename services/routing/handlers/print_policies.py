"""Print policies: what administrators set (versioned per tenant), the groups routing
learns from auth, and the verdict of a tenant's policies on a submitted job."""

from __future__ import annotations

import uuid
from dataclasses import asdict, replace
from typing import Any

from services.routing.domain.commands import SavePrintPolicy
from services.routing.domain.errors import PrintPolicyNotFound
from services.routing.domain.model import Job, Place
from services.routing.domain.print_policies import (
    Adjustment,
    Candidate,
    PrintPolicy,
    Refusal,
    Verdict,
    evaluate,
)
from services.routing.repository import RoutingRepository
from shared.db.uow import Transactions, UnitOfWork
from shared.errors import Conflict, FieldError, ValidationFailed
from shared.events.contracts.groups import GroupCreated, GroupDeleted, GroupUpdated
from shared.events.contracts.jobs import JobSubmitted
from shared.events.contracts.policies import (
    PrintPolicyCreated,
    PrintPolicyDeleted,
    PrintPolicyUpdated,
)
from shared.groups.membership import effective_groups
from shared.http.auth import Principal
from shared.logging import get_logger

log = get_logger(__name__)


def adjustment_json(a: Adjustment) -> dict[str, Any]:
    """An adjustment as events and the API carry it."""
    return {**asdict(a), "policy_id": str(a.policy_id)}


def refusal_json(r: Refusal) -> dict[str, Any]:
    """A refusal as events and the API carry it."""
    return {**asdict(r), "policy_id": str(r.policy_id)}


# --- the verdict on a job -------------------------------------------------------------


def applicable(
    policies: list[PrintPolicy], groups: set[uuid.UUID], printers: set[uuid.UUID]
) -> list[PrintPolicy]:
    """The policies that apply to a job of an owner in ``groups``, for ``printers``."""
    return [
        p
        for p in policies
        if p.scope == "tenant"
        or (p.scope == "group" and p.subject_id in groups)
        or (p.scope == "printer" and p.subject_id in printers)
    ]


async def judge(
    repo: RoutingRepository, job: Job, data: JobSubmitted, place: Place | None
) -> Verdict:
    """The verdict of the tenant's policies, as they stand now, on a submitted job.

    The owner's groups are their effective (transitive) groups; the printer policies
    are those of the target printer, or of every member of a pull job's virtual
    printer (the job may be released at any of them).
    """
    version, policies = await repo.policy_state(job.tenant_id)
    printers: set[uuid.UUID] = set()
    if job.target_printer_id is not None:
        printers.add(job.target_printer_id)
    if job.virtual_printer_id is not None:
        printers.update(await repo.virtual_printer_members(job.virtual_printer_id))
    groups: set[uuid.UUID] = set()
    if any(p.scope == "group" for p in policies):
        groups = effective_groups(job.owner_id, await repo.tenant_groups(job.tenant_id))
    printer = place.printer if place is not None else None
    candidate = Candidate(
        settings=job.settings,
        release=data.release,
        document_format=job.document_format,
        pages=data.pages,
        colour=job.colour,
        submitted_at=data.at,
        pull=job.pulled,
        capabilities=printer.capabilities if printer is not None else None,
    )
    return evaluate(applicable(policies, groups, printers), version, candidate)


# --- administration -------------------------------------------------------------------


def _state(p: PrintPolicy, version: int) -> dict[str, Any]:
    """A saved policy's full state as its change event carries it."""
    return {
        "policy_id": p.policy_id, "tenant_id": p.tenant_id, "revision": p.revision,
        "policy_version": version, "name": p.name, "scope": p.scope,
        "subject_id": p.subject_id, "rules": p.rules.model_dump(mode="json"),
    }  # fmt: skip


async def _check_subject(
    repo: RoutingRepository, tenant_id: uuid.UUID, cmd: SavePrintPolicy
) -> None:
    """422 naming the field when the policy's group or printer is not of the tenant."""
    if cmd.scope == "group":
        assert cmd.group_id is not None
        if not await repo.group_exists(tenant_id, cmd.group_id):
            raise ValidationFailed(
                "the policy's group is not known",
                [FieldError("group_id", "no such group in this tenant")],
            )
    if cmd.scope == "printer":
        assert cmd.printer_id is not None
        printer = (await repo.get_printers([cmd.printer_id])).get(cmd.printer_id)
        if printer is None or printer.tenant_id != tenant_id:
            raise ValidationFailed(
                "the policy's printer is not known",
                [FieldError("printer_id", "no such printer in this tenant")],
            )


async def _check_name(
    repo: RoutingRepository, tenant_id: uuid.UUID, name: str, other_than: uuid.UUID | None
) -> None:
    if await repo.name_taken(tenant_id, name, other_than):
        raise Conflict(
            "another policy of the tenant has this name",
            [FieldError("name", "already used by another policy")],
        )


async def list_policies(
    tx: Transactions[RoutingRepository], tenant_id: uuid.UUID
) -> tuple[int, list[PrintPolicy]]:
    """A tenant's policy version and policies."""
    async with tx() as uow:
        return await uow.repo.policy_state(tenant_id)


async def policies_at(
    tx: Transactions[RoutingRepository], tenant_id: uuid.UUID, version: int
) -> list[PrintPolicy]:
    """A tenant's policies as they stood at ``version`` (404 for a version never made)."""
    async with tx() as uow:
        found = await uow.repo.policies_at_version(tenant_id, version)
    if found is None:
        raise PrintPolicyNotFound("no such policy version")
    return found


async def visible_policy(
    repo: RoutingRepository, policy_id: uuid.UUID, who: Principal
) -> PrintPolicy:
    """A policy the caller may see; the same 404 for a missing and a foreign one."""
    policy = await repo.get_print_policy(policy_id)
    if policy is None or not who.can_access(policy.tenant_id):
        raise PrintPolicyNotFound("no such policy")
    return policy


async def get_policy(
    tx: Transactions[RoutingRepository], policy_id: uuid.UUID, who: Principal
) -> PrintPolicy:
    """A visible policy."""
    async with tx() as uow:
        return await visible_policy(uow.repo, policy_id, who)


async def create_policy(
    tx: Transactions[RoutingRepository], tenant_id: uuid.UUID, cmd: SavePrintPolicy, by: str
) -> tuple[int, PrintPolicy]:
    """A new policy of the tenant (revision 1); returns the tenant's new version with it."""
    async with tx() as uow:
        repo = uow.repo
        version = await repo.lock_policy_version(tenant_id)  # one change at a time
        await _check_subject(repo, tenant_id, cmd)
        await _check_name(repo, tenant_id, cmd.name, None)
        policy = PrintPolicy(
            uuid.uuid4(), tenant_id, cmd.name, cmd.scope, cmd.subject_id, cmd.rules, 1
        )
        saved = await repo.save_print_policy(policy, version, by)
        await uow.emit(PrintPolicyCreated(**_state(saved, version)), tenant_id=tenant_id)
    log.info("print policy created", policy_id=str(saved.policy_id), version=version)
    return version, saved


async def update_policy(
    tx: Transactions[RoutingRepository], policy_id: uuid.UUID, cmd: SavePrintPolicy,
    who: Principal,
) -> tuple[int, PrintPolicy]:  # fmt: skip
    """Replace a visible policy (revision +1); returns the tenant's new version with it."""
    async with tx() as uow:
        repo = uow.repo
        current = await visible_policy(repo, policy_id, who)
        tenant_id = current.tenant_id
        version = await repo.lock_policy_version(tenant_id)
        # Read again under the version lock: a concurrent change of this policy has
        # committed by now and its revision counts.
        current = await visible_policy(repo, policy_id, who)
        await _check_subject(repo, tenant_id, cmd)
        await _check_name(repo, tenant_id, cmd.name, policy_id)
        policy = replace(
            current,
            name=cmd.name,
            scope=cmd.scope,
            subject_id=cmd.subject_id,
            rules=cmd.rules,
            revision=current.revision + 1,
        )
        saved = await repo.save_print_policy(policy, version, who.subject)
        await uow.emit(PrintPolicyUpdated(**_state(saved, version)), tenant_id=tenant_id)
    log.info("print policy updated", policy_id=str(policy_id), version=version)
    return version, saved


async def delete_policy(
    tx: Transactions[RoutingRepository], policy_id: uuid.UUID, who: Principal
) -> int:
    """Delete a visible policy; returns the tenant's new version."""
    async with tx() as uow:
        repo = uow.repo
        current = await visible_policy(repo, policy_id, who)
        version = await repo.lock_policy_version(current.tenant_id)
        current = await visible_policy(repo, policy_id, who)
        await repo.delete_print_policy(current, version, who.subject)
        await uow.emit(
            PrintPolicyDeleted(
                policy_id=current.policy_id, tenant_id=current.tenant_id,
                revision=current.revision, policy_version=version,
            ),
            tenant_id=current.tenant_id,
        )  # fmt: skip
    log.info("print policy deleted", policy_id=str(policy_id), version=version)
    return version


# --- groups ---------------------------------------------------------------------------


async def group_changed(
    uow: UnitOfWork[RoutingRepository], data: GroupCreated | GroupUpdated | GroupDeleted
) -> None:
    """group.created / updated / deleted: keep the group's newest state."""
    await uow.repo.apply_group(data)
