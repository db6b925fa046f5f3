"""Events the portal publishes: none (what people do through it is the API's, announced
by the services that own it)."""

from __future__ import annotations

from shared.events.envelope import EventData

EVENTS: tuple[type[EventData], ...] = ()

__all__ = ["EVENTS"]
