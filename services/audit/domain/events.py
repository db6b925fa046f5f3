"""Audit publishes no events of its own: it only records what the administrative topics
tell (see :mod:`services.audit.domain.audited`)."""

from __future__ import annotations

from shared.events.envelope import EventData

EVENTS: tuple[type[EventData], ...] = ()

__all__ = ["EVENTS"]
