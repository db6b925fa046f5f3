"""Event envelope and the (type, version) -> model registry."""

from shared.events.envelope import Envelope, EventData, new_envelope
from shared.events.registry import DecodedEvent, EventDecodeError, EventRegistry

__all__ = [
    "DecodedEvent",
    "Envelope",
    "EventData",
    "EventDecodeError",
    "EventRegistry",
    "new_envelope",
]
