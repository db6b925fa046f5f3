"""Events notifications publishes on ``notifications.endpoints`` (keyed by endpoint_id)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import AwareDatetime, Field

from shared.events.envelope import EventData


class WebhookEndpointDisabled(EventData):
    """An endpoint kept failing and was switched off; its pending deliveries wait until a
    tenant administrator enables it again."""

    event_type: ClassVar[str] = "webhook_endpoint.disabled"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = "notifications.endpoints"

    endpoint_id: uuid.UUID
    tenant_id: uuid.UUID
    url: str = Field(max_length=2000)
    consecutive_failures: int = Field(ge=0)
    failing_since: AwareDatetime
    reason: str = Field(max_length=2000, description="The last failure, readable.")
    at: AwareDatetime

    def partition_key(self) -> str:
        return str(self.endpoint_id)


EVENTS = (WebhookEndpointDisabled,)
