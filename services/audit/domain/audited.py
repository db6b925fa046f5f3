"""What the audit service reads: every event of the administrative topics.

The topics are those marked ``audited`` in the one table of topics
(:data:`shared.kafka.topics.AUDITED_TOPICS`); the models of their events come from the
contracts below. A topic newly marked ``audited`` is read as soon as its contract module
is listed here (a unit test names any audited event type the service would not know).
"""

from __future__ import annotations

from types import ModuleType

from shared.events.contracts import (
    auth,
    devices,
    groups,
    policies,
    quotas,
    registry,
    supplies,
    users,
)
from shared.events.envelope import EventData
from shared.kafka.topics import AUDITED_TOPICS

CONTRACTS: tuple[ModuleType, ...] = (
    registry, devices, users, auth, groups, quotas, supplies, policies,
)  # fmt: skip
"""The contract modules of the administrative topics' events."""


def audited_models() -> list[type[EventData]]:
    """Every event model published on an administrative topic."""
    models = {m for module in CONTRACTS for m in module.EVENTS if m.topic in AUDITED_TOPICS}
    return sorted(models, key=lambda m: (m.event_type, m.event_version))
