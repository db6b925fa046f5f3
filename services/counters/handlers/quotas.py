"""Quotas: administered over HTTP, charged by completed jobs, rolled over by period.

Every change publishes the quota's whole state (quota.state_changed) through the
outbox, under the quota's row lock, so routing's view follows in order.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.counters import repository as repo
from services.counters.domain.commands import AddOverride, CreateQuota, UpdateQuota
from services.counters.domain.errors import QuotaNotFound
from services.counters.domain.model import Quota, amount_of, period_start
from shared.db.outbox import Emitter
from shared.errors import FieldError, ValidationFailed
from shared.events.contracts.quotas import QuotaStateChanged
from shared.http.auth import Principal


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


async def _publish(conn: asyncpg.Connection, q: Quota, out: Emitter) -> None:
    await out.emit(conn, state_of(q), tenant_id=q.tenant_id)


def _tenant_for(who: Principal, asked: uuid.UUID | None) -> uuid.UUID:
    if who.is_operator:
        if asked is None:
            raise ValidationFailed(
                "operators name the tenant", [FieldError("tenant_id", "required for operators")]
            )
        return asked
    tenant = who.tenant_scope()
    assert tenant is not None
    if asked is not None and asked != tenant:
        raise ValidationFailed("unknown tenant", [FieldError("tenant_id", "unknown tenant")])
    return tenant


async def create_quota(pool: asyncpg.Pool, cmd: CreateQuota, who: Principal, out: Emitter) -> Quota:
    """Create a quota; its usage starts at zero in the current period."""
    tenant_id = _tenant_for(who, cmd.tenant_id)
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
    async with pool.acquire() as conn, conn.transaction():
        await repo.insert_quota(conn, quota)
        await _publish(conn, quota, out)
    return quota


async def _locked(conn: asyncpg.Connection, quota_id: uuid.UUID, who: Principal) -> Quota:
    quota = await repo.get_quota(conn, quota_id, for_update=True)
    if quota is None or not who.can_access(quota.tenant_id):
        raise QuotaNotFound("no such quota")
    return quota


async def update_quota(
    pool: asyncpg.Pool, quota_id: uuid.UUID, cmd: UpdateQuota, who: Principal, out: Emitter
) -> Quota:
    """Change limit, policy or members; publishes the new state when something changed."""
    changes = cmd.changes()
    if "members" in changes:
        changes["members"] = tuple(dict.fromkeys(changes["members"] or ()))
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        current = await _locked(conn, quota_id, who)
        if "members" in changes and current.subject_kind != "group":
            raise ValidationFailed(
                "members are only for group quotas", [FieldError("members", "not a group quota")]
            )
        changes = {k: v for k, v in changes.items() if v is not None}
        quota = replace(current.rolled(now), **changes)
        if quota == current:
            return current
        quota = replace(quota, revision=current.revision + 1, updated_at=now)
        await repo.save_quota(conn, quota)
        await _publish(conn, quota, out)
    return quota


async def delete_quota(
    pool: asyncpg.Pool, quota_id: uuid.UUID, who: Principal, out: Emitter
) -> None:
    """Remove a quota; its last state says ``deleted`` so routing forgets it."""
    async with pool.acquire() as conn, conn.transaction():
        quota = await _locked(conn, quota_id, who)
        await repo.delete_quota(conn, quota_id)
        await _publish(conn, replace(quota, deleted=True, revision=quota.revision + 1), out)


async def add_override(
    pool: asyncpg.Pool, quota_id: uuid.UUID, cmd: AddOverride, who: Principal, out: Emitter
) -> Quota:
    """Let the subject print past the limit until ``cmd.until``."""
    now = datetime.now(UTC)
    if cmd.until <= now:
        raise ValidationFailed("the override would be over already", [
            FieldError("until", "must be in the future")
        ])  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        current = await _locked(conn, quota_id, who)
        quota = replace(
            current.rolled(now), override_until=cmd.until, override_reason=cmd.reason,
            revision=current.revision + 1, updated_at=now,
        )  # fmt: skip
        await repo.save_quota(conn, quota)
        await repo.add_override(conn, quota_id, cmd.until, cmd.reason, who.subject)
        await _publish(conn, quota, out)
    return quota


async def charge(
    conn: asyncpg.Connection,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    printed_pages: int,
    colour_pages: int,
    at: datetime,
    out: Emitter,
) -> list[Quota]:
    """Add a completed job to every quota of its owner's current period (caller's
    transaction); returns the quotas that changed."""
    now = max(datetime.now(UTC), at)
    changed = []
    for quota in await repo.quotas_for_user(conn, tenant_id, user_id):
        if not quota.applies_to(user_id):
            continue
        after = quota.charged(amount_of(quota.metric, printed_pages, colour_pages), at, now)
        if after is None:
            continue
        after = replace(after, revision=quota.revision + 1, updated_at=datetime.now(UTC))
        await repo.save_quota(conn, after)
        await _publish(conn, after, out)
        changed.append(after)
    return changed


async def roll_over(pool: asyncpg.Pool, out: Emitter, now: datetime | None = None) -> int:
    """Start the new period of every quota whose period ended; publish each new state."""
    now = now or datetime.now(UTC)
    rolled = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            due = await repo.due_quotas(conn, now, 200)
            for quota in due:
                after = replace(
                    quota.rolled(now), revision=quota.revision + 1, updated_at=datetime.now(UTC)
                )
                await repo.save_quota(conn, after)
                await _publish(conn, after, out)
        rolled += len(due)
        if len(due) < 200:
            return rolled


def quota_json(q: Quota) -> dict[str, Any]:
    """A quota as the API shows it."""
    return {
        "id": str(q.id),
        "tenant_id": str(q.tenant_id),
        "subject_kind": q.subject_kind,
        "subject_id": str(q.subject_id),
        "members": [str(m) for m in q.members],
        "metric": q.metric,
        "period": q.period,
        "limit": q.limit,
        "policy": q.policy,
        "period_start": q.period_start.isoformat(),
        "period_end": q.period_end.isoformat(),
        "used": q.used,
        "exceeded": q.exceeded,
        "override_until": q.override_until.isoformat() if q.override_until else None,
        "override_reason": q.override_reason,
        "revision": q.revision,
        "created_at": q.created_at.isoformat(),
        "updated_at": q.updated_at.isoformat(),
    }
