"""Events routing publishes: its decisions, ``job.routed`` on ``routing.decisions``
(the contract lives in :mod:`shared.events.contracts.jobs`, where queues finds it), and
print policy changes on ``routing.policies`` (:mod:`shared.events.contracts.policies`)."""

from __future__ import annotations

from shared.events.contracts.jobs import JobRouted
from shared.events.contracts.policies import (
    PrintPolicyCreated,
    PrintPolicyDeleted,
    PrintPolicyUpdated,
)

EVENTS = (JobRouted, PrintPolicyCreated, PrintPolicyUpdated, PrintPolicyDeleted)

__all__ = [
    "EVENTS",
    "JobRouted",
    "PrintPolicyCreated",
    "PrintPolicyDeleted",
    "PrintPolicyUpdated",
]
