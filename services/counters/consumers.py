"""What counters reads: devices' counter readings, completed jobs, its own roll-ups."""

from __future__ import annotations

from services.counters.domain.events import UsageRolledUp
from services.counters.handlers.readings import counters_handler
from services.counters.handlers.usage import apply_rollups, completed_handler
from services.counters.settings import CountersSettings
from shared.events.contracts.gateway import DeviceCountersReported
from shared.events.contracts.jobs import JobCompleted
from shared.service import ConsumerSpec, Runtime


def consumers(rt: Runtime[CountersSettings]) -> list[ConsumerSpec]:
    """Counters' consumer groups (never rename one: a new name replays the topic)."""
    out = rt.emitter()
    readings = f"{rt.schema}-device-counters"
    return [
        ConsumerSpec(
            name=readings,
            topics=[DeviceCountersReported.topic],
            handlers={DeviceCountersReported.event_type: counters_handler(out, readings)},
        ),
        ConsumerSpec(
            name=f"{rt.schema}-job-usage",
            topics=[JobCompleted.topic],
            handlers={JobCompleted.event_type: completed_handler(out)},
        ),
        ConsumerSpec(
            name=f"{rt.schema}-usage-windows",
            topics=[UsageRolledUp.topic],
            batch_handlers={UsageRolledUp.event_type: apply_rollups},
        ),
    ]
