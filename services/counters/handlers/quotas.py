"""Quotas: administered over HTTP, charged by completed jobs, rolled over by period.

Every change publishes the quota's whole state (quota.state_changed) through the
outbox, under the quota's row lock, so routing's view follows in order.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from services.counters.domain.commands import AddOverride, CreateQuota, UpdateQuota
from services.counters.domain.errors import QuotaNotFound
from services.counters.domain.events import QuotaStateChanged
from services.counters.domain.model import Quota, amount_of, period_start
from services.counters.repository import QuotaRepository
from shared.db.uow import Transactions, UnitOfWork
from shared.errors import FieldError, ValidationFailed
from shared.http.auth import Principal

ROLL_OVER_BATCH = 200


def state_of(q: Quota) -> QuotaStateChanged:
    """The event telling a quota's state."""
    return QuotaStateChanged(
        quota_id=q.id,
        tenant_id=q.tenant_id,
        subject_kind=q.subject_kind,
        subject_id=q.subject_id,
        members=list(q.members),
        metric=q.metric,
        period=q.period,
        period_start=q.period_start,
        used=q.used,
        limit=q.limit,
        policy=q.policy,
        exceeded=q.exceeded,
        override_until=q.override_until,
        deleted=q.deleted,
    )


async def _publish(uow: UnitOfWork[QuotaRepository], q: Quota) -> None:
    await uow.emit(state_of(q), tenant_id=q.tenant_id)


async def create_quota(
    tx: Transactions[QuotaRepository], cmd: CreateQuota, tenant_id: uuid.UUID
) -> Quota:
    """Create a quota of ``tenant_id``; its usage starts at zero in the current period."""
    now = datetime.now(UTC)
    subject = cmd.subject_id or tenant_id
    if cmd.subject_kind == "tenant" and subject != tenant_id:
        raise ValidationFailed(
            "a tenant quota is about its own tenant",
            [FieldError("subject_id", "must be the tenant id (or left out)")],
        )
    quota = Quota(
        id=uuid.uuid4(), tenant_id=tenant_id, subject_kind=cmd.subject_kind, subject_id=subject,
        members=tuple(dict.fromkeys(cmd.members)), metric=cmd.metric, period=cmd.period,
        limit=cmd.limit, policy=cmd.policy, period_start=period_start(cmd.period, now), used=0,
        override_until=None, override_reason="", revision=1, created_at=now, updated_at=now,
    )  # fmt: skip
    async with tx() as uow:
        await uow.repo.insert_quota(quota)
        await _publish(uow, quota)
    return quota


async def get_quota(
    tx: Transactions[QuotaRepository], quota_id: uuid.UUID, who: Principal
) -> Quota:
    """A quota the caller may see (another tenant's is answered as missing)."""
    async with tx() as uow:
        quota = await uow.repo.get_quota(quota_id)
    if quota is None or not who.can_access(quota.tenant_id):
        raise QuotaNotFound("no such quota")
    return quota


async def list_quotas(
    tx: Transactions[QuotaRepository],
    tenant_id: uuid.UUID | None,
    after: uuid.UUID | None,
    limit: int,
) -> list[Quota]:
    """A page of quotas in id order (one tenant's, or every tenant's for None)."""
    async with tx() as uow:
        return await uow.repo.list_quotas(tenant_id=tenant_id, after=after, limit=limit)


async def _locked(repo: QuotaRepository, quota_id: uuid.UUID, who: Principal) -> Quota:
    quota = await repo.get_quota(quota_id, for_update=True)
    if quota is None or not who.can_access(quota.tenant_id):
        raise QuotaNotFound("no such quota")
    return quota


async def update_quota(
    tx: Transactions[QuotaRepository], quota_id: uuid.UUID, cmd: UpdateQuota, who: Principal
) -> Quota:
    """Change limit, policy or members; publishes the new state when something changed."""
    changes = cmd.changes()
    if "members" in changes:
        changes["members"] = tuple(dict.fromkeys(changes["members"] or ()))
    now = datetime.now(UTC)
    async with tx() as uow:
        current = await _locked(uow.repo, quota_id, who)
        if "members" in changes and current.subject_kind != "group":
            raise ValidationFailed(
                "members are only for group quotas", [FieldError("members", "not a group quota")]
            )
        changes = {k: v for k, v in changes.items() if v is not None}
        quota = replace(current.rolled(now), **changes)
        if quota == current:
            return current
        quota = replace(quota, revision=current.revision + 1, updated_at=now)
        await uow.repo.save_quota(quota)
        await _publish(uow, quota)
    return quota


async def delete_quota(
    tx: Transactions[QuotaRepository], quota_id: uuid.UUID, who: Principal
) -> None:
    """Remove a quota; its last state says ``deleted`` so routing forgets it."""
    async with tx() as uow:
        quota = await _locked(uow.repo, quota_id, who)
        await uow.repo.delete_quota(quota_id)
        await _publish(uow, replace(quota, deleted=True, revision=quota.revision + 1))


async def add_override(
    tx: Transactions[QuotaRepository], quota_id: uuid.UUID, cmd: AddOverride, who: Principal
) -> Quota:
    """Let the subject print past the limit until ``cmd.until``."""
    now = datetime.now(UTC)
    if cmd.until <= now:
        raise ValidationFailed("the override would be over already", [
            FieldError("until", "must be in the future")
        ])  # fmt: skip
    async with tx() as uow:
        current = await _locked(uow.repo, quota_id, who)
        quota = replace(
            current.rolled(now), override_until=cmd.until, override_reason=cmd.reason,
            revision=current.revision + 1, updated_at=now,
        )  # fmt: skip
        await uow.repo.save_quota(quota)
        await uow.repo.add_override(quota_id, cmd.until, cmd.reason, who.subject)
        await _publish(uow, quota)
    return quota


async def charge(
    uow: UnitOfWork[QuotaRepository],
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    printed_pages: int,
    colour_pages: int,
    at: datetime,
) -> list[Quota]:
    """Add a completed job to every quota of its owner's current period (in the caller's
    unit of work); returns the quotas that changed."""
    now = max(datetime.now(UTC), at)
    changed = []
    for quota in await uow.repo.quotas_for_user(tenant_id, user_id):
        if not quota.applies_to(user_id):
            continue
        after = quota.charged(amount_of(quota.metric, printed_pages, colour_pages), at, now)
        if after is None:
            continue
        after = replace(after, revision=quota.revision + 1, updated_at=datetime.now(UTC))
        await uow.repo.save_quota(after)
        await _publish(uow, after)
        changed.append(after)
    return changed


async def roll_over(tx: Transactions[QuotaRepository], now: datetime | None = None) -> int:
    """Start the new period of every quota whose period ended; publish each new state."""
    now = now or datetime.now(UTC)
    rolled = 0
    while True:
        async with tx() as uow:
            due = await uow.repo.due_quotas(now, ROLL_OVER_BATCH)
            for quota in due:
                after = replace(
                    quota.rolled(now), revision=quota.revision + 1, updated_at=datetime.now(UTC)
                )
                await uow.repo.save_quota(after)
                await _publish(uow, after)
        rolled += len(due)
        if len(due) < ROLL_OVER_BATCH:
            return rolled
