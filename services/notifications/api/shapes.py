"""How notifications resources look on the wire (the models also feed the OpenAPI
document)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.notifications.domain.model import Delivery, Endpoint


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def endpoint_json(endpoint: Endpoint) -> dict[str, Any]:
    """An endpoint without its secrets (EndpointOut)."""
    return {k: _plain(v) for k, v in asdict(endpoint).items()}


def delivery_json(delivery: Delivery, *, with_attempts: bool = False) -> dict[str, Any]:
    """One line of the delivery log (DeliveryOut), with its attempts when asked."""
    out = {k: _plain(v) for k, v in asdict(delivery).items() if k != "history"}
    out["webhook_id"] = out.pop("message_id")
    if with_attempts:
        out["attempts_log"] = [
            {k: _plain(v) for k, v in asdict(a).items()} for a in delivery.history
        ]
    return out


class EndpointOut(BaseModel):
    """A webhook endpoint; its secrets are never shown (but when made)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    printer_ids: list[uuid.UUID]
    user_ids: list[uuid.UUID]
    token_ids: list[uuid.UUID]
    enabled: bool
    disabled_reason: str | None = Field(description="Why it was disabled (it kept failing).")
    consecutive_failures: int
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointOut):
    """A new endpoint and its signing secret, shown this once."""

    secret: str = Field(description="whsec_<base64>: verify webhook-signature with it.")


class SecretRotated(BaseModel):
    """A new signing secret, shown this once; the old ones sign until ``previous_until``."""

    endpoint_id: uuid.UUID
    secret: str
    previous_until: datetime


class EndpointPage(BaseModel):
    """A page of endpoints."""

    items: list[EndpointOut]
    next_after: uuid.UUID | None


class AttemptOut(BaseModel):
    """One attempt at a delivery."""

    attempt: int
    at: datetime
    status: int | None = Field(description="The answer's status; null when none came.")
    latency_ms: int
    error: str | None
    response: str = Field(description="The start of the answer's body.")


class DeliveryOut(BaseModel):
    """One line of an endpoint's delivery log."""

    id: int
    endpoint_id: uuid.UUID
    webhook_id: uuid.UUID = Field(description="The webhook-id header: the same on every attempt.")
    event_type: str
    order_key: str = Field(description="Deliveries of one key (job, printer) go in order.")
    url: str
    state: str = Field(description="pending, succeeded, or failed (given up).")
    attempts: int
    manual: bool = Field(description="Queued by a re-delivery request.")
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_latency_ms: int | None
    last_error: str | None


class DeliveryDetail(DeliveryOut):
    """A delivery with every attempt."""

    attempts_log: list[AttemptOut]


class DeliveryPage(BaseModel):
    """A page of deliveries, newest first."""

    items: list[DeliveryOut]
    next_before: int | None


def page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """A page of endpoints and the cursor of the next one."""
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}


def delivery_page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    """A page of deliveries and the cursor of the next (older) one."""
    return {"items": items, "next_before": items[-1]["id"] if len(items) == limit else None}
