"""Maps (type, version) to the pydantic model of that payload.

Decoding is strict: bytes that are not JSON, an envelope with missing or extra
fields, an unknown (type, version) or a payload that fails its model are all
:class:`EventDecodeError` with a reason a person can act on. Consumers park such
messages on the dead-letter topic.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import ValidationError

from shared.events.envelope import Envelope, EventData

T = TypeVar("T", bound=EventData)


class EventDecodeError(ValueError):
    """A message that cannot be turned into a known event; ``reason`` says why."""

    def __init__(self, reason: str, envelope: Envelope | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.envelope = envelope


@dataclass(frozen=True)
class DecodedEvent(Generic[T]):
    """An envelope and its payload parsed into the registered model."""

    envelope: Envelope
    data: T


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {err['msg']}")
    more = f" (+{exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
    return "; ".join(parts) + more


class EventRegistry:
    """The set of event payload models a process knows, by (type, version)."""

    def __init__(self, models: Iterable[type[EventData]] = ()) -> None:
        self._models: dict[tuple[str, int], type[EventData]] = {}
        for model in models:
            self.register(model)

    def register(self, model: type[EventData]) -> type[EventData]:
        """Add a model; registering two models for one (type, version) is a bug."""
        key = (model.event_type, model.event_version)
        existing = self._models.get(key)
        if existing is not None and existing is not model:
            raise ValueError(f"event {key[0]} v{key[1]} registered twice")
        self._models[key] = model
        return model

    def models(self) -> list[type[EventData]]:
        """Every registered model, sorted by type then version."""
        return [self._models[k] for k in sorted(self._models)]

    def model_for(self, type_: str, version: int) -> type[EventData]:
        """The model of (type, version), or EventDecodeError naming what is known."""
        model = self._models.get((type_, version))
        if model is None:
            known = sorted(v for (t, v) in self._models if t == type_)
            if known:
                raise EventDecodeError(
                    f"unknown version {version} of event type {type_!r} (known: {known})"
                )
            raise EventDecodeError(f"unknown event type {type_!r}")
        return model

    def decode(self, raw: bytes | None) -> DecodedEvent[EventData]:
        """Parse bytes from Kafka into an envelope and its typed payload."""
        return self.parse(self.decode_envelope(raw))

    @staticmethod
    def decode_envelope(raw: bytes | None) -> Envelope:
        """Parse bytes from Kafka into an envelope, leaving the payload untyped."""
        if raw is None:
            raise EventDecodeError("message has no value (tombstone)")
        try:
            obj = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise EventDecodeError(f"value is not UTF-8 JSON: {exc}") from None
        try:
            envelope = Envelope.model_validate(obj)
        except ValidationError as exc:
            raise EventDecodeError(f"invalid envelope: {_describe(exc)}") from None
        return envelope

    def parse(self, envelope: Envelope) -> DecodedEvent[EventData]:
        """Validate an envelope's payload against its registered model."""
        model = self.model_for(envelope.type, envelope.version)
        try:
            data = model.model_validate(envelope.data)
        except ValidationError as exc:
            raise EventDecodeError(
                f"invalid payload for {envelope.type} v{envelope.version}: {_describe(exc)}",
                envelope,
            ) from None
        if data.partition_key() != envelope.key:
            raise EventDecodeError(
                f"envelope key {envelope.key!r} does not match payload key "
                f"{data.partition_key()!r}",
                envelope,
            )
        return DecodedEvent(envelope, data)
