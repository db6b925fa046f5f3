"""Events the IPP endpoint publishes: none (its jobs are queues' jobs, announced there)."""

from __future__ import annotations

from shared.events.envelope import EventData

EVENTS: tuple[type[EventData], ...] = ()

__all__ = ["EVENTS"]
