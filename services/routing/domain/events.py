"""Events routing publishes: its decisions, ``job.routed`` on ``routing.decisions``.
The contract lives in :mod:`shared.events.contracts.jobs`, where queues finds it."""

from __future__ import annotations

from shared.events.contracts.jobs import JobRouted

EVENTS = (JobRouted,)

__all__ = ["EVENTS", "JobRouted"]
