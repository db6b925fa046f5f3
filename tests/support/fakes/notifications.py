"""Notifications' repository in memory: the same methods as
:class:`services.notifications.repository.NotificationsRepository`, state in dicts."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.notifications.domain.model import (
    Attempt,
    Claimed,
    Delivery,
    DeliveryState,
    Endpoint,
    JobFacts,
    NewDelivery,
    Outcome,
    Secret,
)


def _now() -> datetime:
    return datetime.now(UTC)


class FakeNotificationsRepository:
    """Endpoints, secrets, job facts, quota states, deliveries and attempts."""

    def __init__(self) -> None:
        self.endpoints: dict[uuid.UUID, Endpoint] = {}
        self.secret_rows: dict[uuid.UUID, Secret] = {}
        self.jobs: dict[uuid.UUID, JobFacts] = {}
        self.quotas: dict[uuid.UUID, tuple[datetime, bool]] = {}
        self.deliveries: dict[int, Delivery] = {}
        self.bodies: dict[int, dict[str, Any]] = {}
        self.leased: dict[int, datetime] = {}

    async def insert_endpoint(self, e: Endpoint) -> Endpoint:
        stored = replace(e, created_at=_now(), updated_at=_now())
        self.endpoints[e.id] = stored
        return stored

    async def get_endpoint(
        self, endpoint_id: uuid.UUID, *, for_update: bool = False
    ) -> Endpoint | None:
        return self.endpoints.get(endpoint_id)

    async def list_endpoints(
        self, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> list[Endpoint]:
        found = sorted(
            (e for e in self.endpoints.values() if tenant_id is None or e.tenant_id == tenant_id),
            key=lambda e: e.id,
        )
        return [e for e in found if after is None or e.id > after][:limit]

    async def enabled_endpoints(self, tenant_id: uuid.UUID) -> list[Endpoint]:
        return [e for e in self.endpoints.values() if e.tenant_id == tenant_id and e.enabled]

    async def update_endpoint(self, endpoint_id: uuid.UUID, changes: dict[str, Any]) -> Endpoint:
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()}
        self.endpoints[endpoint_id] = replace(
            self.endpoints[endpoint_id], **values, updated_at=_now()
        )
        return self.endpoints[endpoint_id]

    async def delete_endpoint(self, endpoint_id: uuid.UUID) -> None:
        self.endpoints.pop(endpoint_id, None)
        self.deliveries = {k: d for k, d in self.deliveries.items() if d.endpoint_id != endpoint_id}

    async def add_secret(self, secret: Secret) -> None:
        self.secret_rows[secret.id] = secret

    async def expire_secrets(self, endpoint_id: uuid.UUID, at: datetime) -> None:
        for s in list(self.secret_rows.values()):
            if s.endpoint_id == endpoint_id and (s.expires_at is None or s.expires_at > at):
                self.secret_rows[s.id] = replace(s, expires_at=at)

    async def secrets(self, endpoint_id: uuid.UUID) -> list[Secret]:
        now = _now()
        found = [
            s for s in self.secret_rows.values() if s.endpoint_id == endpoint_id and s.active(now)
        ]
        return sorted(found, key=lambda s: s.created_at, reverse=True)

    async def job_facts(self, job_id: uuid.UUID) -> JobFacts | None:
        return self.jobs.get(job_id)

    async def save_job_facts(self, f: JobFacts) -> None:
        self.jobs[f.job_id] = f

    async def swap_quota_state(
        self, quota_id: uuid.UUID, period_start: datetime, exceeded: bool
    ) -> bool:
        before = self.quotas.get(quota_id)
        self.quotas[quota_id] = (period_start, exceeded)
        return before is not None and before[0] == period_start and before[1]

    async def add_deliveries(self, new: list[NewDelivery]) -> int:
        added = 0
        for d in new:
            key = (d.endpoint_id, d.notice.event_id, d.url)
            if not d.manual and any(
                (x.endpoint_id, x.message_id, x.url) == key and not x.manual
                for x in self.deliveries.values()
            ):
                continue
            self._add(d.endpoint_id, d.url, d.notice.event_id, d.notice.type, d.notice.order_key,
                      d.notice.body(), d.manual)  # fmt: skip
            added += 1
        return added

    def _add(self, endpoint_id: uuid.UUID, url: str, message_id: uuid.UUID, event_type: str,
             order_key: str, body: dict[str, Any], manual: bool) -> Delivery:  # fmt: skip
        delivery_id = len(self.deliveries) + 1
        self.deliveries[delivery_id] = Delivery(
            id=delivery_id, endpoint_id=endpoint_id, message_id=message_id,
            event_type=event_type, order_key=order_key, url=url, state="pending", attempts=0,
            manual=manual, created_at=_now(), next_attempt_at=_now(), delivered_at=None,
            last_status=None, last_latency_ms=None, last_error=None,
        )  # fmt: skip
        self.bodies[delivery_id] = body
        return self.deliveries[delivery_id]

    async def claim(
        self, limit: int, lease_s: float, per_endpoint: int, busy: list[uuid.UUID]
    ) -> list[Claimed]:
        raise NotImplementedError("the claim is SQL: tests/integration/notifications")

    async def record_attempt(
        self, delivery_id: int, attempt: int, outcome: Outcome, *, state: DeliveryState,
        retry_in_s: float,
    ) -> None:  # fmt: skip
        d = self.deliveries[delivery_id]
        if d.state != "pending":
            return
        history = [*d.history, Attempt(attempt, _now(), outcome.status, outcome.latency_ms,
                                       outcome.error, outcome.response)]  # fmt: skip
        self.deliveries[delivery_id] = replace(
            d, state=state, attempts=attempt, last_status=outcome.status,
            last_latency_ms=outcome.latency_ms, last_error=outcome.error,
            delivered_at=_now() if state == "succeeded" else None,
            next_attempt_at=_now() + timedelta(seconds=retry_in_s), history=history,
        )  # fmt: skip

    async def endpoint_succeeded(self, endpoint_id: uuid.UUID) -> None:
        e = self.endpoints[endpoint_id]
        self.endpoints[endpoint_id] = replace(e, consecutive_failures=0, failing_since=None)

    async def endpoint_failed(self, endpoint_id: uuid.UUID, at: datetime) -> None:
        e = self.endpoints[endpoint_id]
        self.endpoints[endpoint_id] = replace(
            e, consecutive_failures=e.consecutive_failures + 1,
            failing_since=e.failing_since or at,
        )  # fmt: skip

    async def log(
        self, endpoint_id: uuid.UUID, state: DeliveryState | None, before: int | None, limit: int
    ) -> list[Delivery]:
        found = [
            replace(d, history=[]) for d in sorted(self.deliveries.values(), key=lambda d: -d.id)
            if d.endpoint_id == endpoint_id and (state is None or d.state == state)
            and (before is None or d.id < before)
        ]  # fmt: skip
        return found[:limit]

    async def get_delivery(self, endpoint_id: uuid.UUID, delivery_id: int) -> Delivery | None:
        d = self.deliveries.get(delivery_id)
        return d if d is not None and d.endpoint_id == endpoint_id else None

    async def redeliver(self, delivery_id: int) -> Delivery:
        d = self.deliveries[delivery_id]
        return self._add(d.endpoint_id, d.url, d.message_id, d.event_type, d.order_key,
                         self.bodies[delivery_id], True)  # fmt: skip
