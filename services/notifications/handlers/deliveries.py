"""Deliveries: what one attempt comes to, the log administrators read, and manual
re-delivery."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from services.notifications.domain.errors import DeliveryNotFound, EndpointNotFound
from services.notifications.domain.events import WebhookEndpointDisabled
from services.notifications.domain.model import (
    Claimed,
    Delivery,
    DeliveryState,
    Endpoint,
    Outcome,
    Secret,
    backoff_s,
    give_up,
)
from services.notifications.repository import NotificationsRepository
from shared.db.uow import Transactions, UnitOfWork
from shared.http.auth import Principal

Tx = Transactions[NotificationsRepository]


@dataclass(frozen=True)
class RetryPolicy:
    """How failed attempts are retried, and when an endpoint is switched off."""

    base_s: float
    cap_s: float
    retry_for_s: float
    disable_after_failures: int
    disable_after_s: float


async def claim(
    tx: Tx, limit: int, lease_s: float, per_endpoint: int, busy: list[uuid.UUID]
) -> list[Claimed]:
    """Lease the due deliveries this replica may attempt now."""
    async with tx() as uow:
        return await uow.repo.claim(limit, lease_s, per_endpoint, busy)


async def signing_secrets(tx: Tx, endpoint_id: uuid.UUID) -> list[Secret]:
    """The endpoint's secrets that sign now (sealed)."""
    async with tx() as uow:
        return await uow.repo.secrets(endpoint_id)


async def attempted(
    tx: Tx, claimed: Claimed, outcome: Outcome, policy: RetryPolicy
) -> DeliveryState:
    """Record an attempt: done on a 2xx; otherwise retried with back-off, or given up
    once the event is ``retry_for_s`` old; an endpoint failing long and often enough is
    disabled, announced with webhook_endpoint.disabled."""
    now = datetime.now(UTC)
    if outcome.succeeded:
        state: DeliveryState = "succeeded"
        retry = 0.0
    else:
        state = "failed" if give_up(claimed.created_at, now, policy.retry_for_s) else "pending"
        retry = backoff_s(claimed.attempts, base_s=policy.base_s, cap_s=policy.cap_s)
    async with tx() as uow:
        await uow.repo.record_attempt(
            claimed.id, claimed.attempts, outcome, state=state, retry_in_s=retry
        )
        if outcome.succeeded:
            await uow.repo.endpoint_succeeded(claimed.endpoint_id)
            return state
        await uow.repo.endpoint_failed(claimed.endpoint_id, now)
        endpoint = await uow.repo.get_endpoint(claimed.endpoint_id, for_update=True)
        if endpoint is not None and endpoint.should_disable(
            now, after_failures=policy.disable_after_failures, after_s=policy.disable_after_s
        ):
            await _disable(uow, endpoint, outcome, now)
    return state


def _reason(outcome: Outcome) -> str:
    if outcome.error:
        return outcome.error
    return f"answered {outcome.status}"


async def _disable(
    uow: UnitOfWork[NotificationsRepository], endpoint: Endpoint, outcome: Outcome, now: datetime
) -> None:
    reason = f"failing since {endpoint.failing_since:%Y-%m-%d %H:%M:%S}Z: {_reason(outcome)}"
    await uow.repo.update_endpoint(
        endpoint.id, {"enabled": False, "disabled_reason": reason[:2000]}
    )
    assert endpoint.failing_since is not None
    await uow.emit(
        WebhookEndpointDisabled(
            endpoint_id=endpoint.id, tenant_id=endpoint.tenant_id, url=endpoint.url,
            consecutive_failures=endpoint.consecutive_failures,
            failing_since=endpoint.failing_since, reason=reason[:2000], at=now,
        ),
        tenant_id=endpoint.tenant_id,
    )  # fmt: skip


async def _endpoint(
    uow: UnitOfWork[NotificationsRepository], endpoint_id: uuid.UUID, who: Principal
) -> Endpoint:
    endpoint = await uow.repo.get_endpoint(endpoint_id)
    if endpoint is None or not who.can_access(endpoint.tenant_id):
        raise EndpointNotFound("no such webhook endpoint")
    return endpoint


async def delivery_log(
    tx: Tx,
    endpoint_id: uuid.UUID,
    who: Principal,
    state: DeliveryState | None,
    before: int | None,
    limit: int,
) -> list[Delivery]:
    """A page of an endpoint's deliveries, newest first."""
    async with tx() as uow:
        await _endpoint(uow, endpoint_id, who)
        return await uow.repo.log(endpoint_id, state, before, limit)


async def get_delivery(
    tx: Tx, endpoint_id: uuid.UUID, delivery_id: int, who: Principal
) -> Delivery:
    """One delivery of an endpoint, with every attempt."""
    async with tx() as uow:
        await _endpoint(uow, endpoint_id, who)
        delivery = await uow.repo.get_delivery(endpoint_id, delivery_id)
        if delivery is None:
            raise DeliveryNotFound("no such delivery")
        return delivery


async def redeliver(tx: Tx, endpoint_id: uuid.UUID, delivery_id: int, who: Principal) -> Delivery:
    """Send a delivery's message again (the same webhook-id, a new log line), after the
    deliveries of its key already waiting."""
    async with tx() as uow:
        await _endpoint(uow, endpoint_id, who)
        if await uow.repo.get_delivery(endpoint_id, delivery_id) is None:
            raise DeliveryNotFound("no such delivery")
        return await uow.repo.redeliver(delivery_id)


async def purge(tx: Tx, older_than_days: int) -> int:
    """Forget finished deliveries and jobs older than the retention."""
    async with tx() as uow:
        return await uow.repo.purge(older_than_days)
