"""What notifications reads: jobs from queues, printers' connection and claimed devices
from the registry, low supplies from consumables, quotas from counters. Every event type
of those topics is known (see ``app.SPEC``); the ones not told to tenants are skipped."""

from __future__ import annotations

from services.notifications.handlers import notices
from services.notifications.repository import NotificationsRepository
from services.notifications.settings import NotificationsSettings
from shared.events.contracts.devices import DeviceClaimed
from shared.events.contracts.jobs import EVENTS as JOB_EVENTS
from shared.events.contracts.jobs import JobSubmitted
from shared.events.contracts.quotas import QuotaStateChanged
from shared.events.contracts.registry import PrinterConnectionChanged
from shared.events.contracts.supplies import SupplyLevelWarning
from shared.service import ConsumerSpec, Runtime


def consumers(rt: Runtime[NotificationsSettings]) -> list[ConsumerSpec]:
    """The notifications consumer groups (one per topic: a slow topic delays no other)."""
    tx = rt.transactions(NotificationsRepository)
    on_job = tx.applying(notices.job_changed)
    job_types = [m.event_type for m in JOB_EVENTS if m.topic == JobSubmitted.topic]
    return [
        ConsumerSpec(
            name=f"{rt.schema}-jobs",
            topics=[JobSubmitted.topic],
            handlers={t: on_job for t in job_types},
        ),
        ConsumerSpec(
            name=f"{rt.schema}-printers",
            topics=[PrinterConnectionChanged.topic],
            handlers={
                PrinterConnectionChanged.event_type: tx.applying(notices.printer_connection_changed)
            },
        ),
        ConsumerSpec(
            name=f"{rt.schema}-devices",
            topics=[DeviceClaimed.topic],
            handlers={DeviceClaimed.event_type: tx.applying(notices.device_claimed)},
        ),
        ConsumerSpec(
            name=f"{rt.schema}-supplies",
            topics=[SupplyLevelWarning.topic],
            handlers={SupplyLevelWarning.event_type: tx.applying(notices.supply_warned)},
        ),
        ConsumerSpec(
            name=f"{rt.schema}-quotas",
            topics=[QuotaStateChanged.topic],
            handlers={QuotaStateChanged.event_type: tx.applying(notices.quota_changed)},
        ),
    ]
