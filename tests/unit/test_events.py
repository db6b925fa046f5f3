import json
import uuid
from typing import ClassVar

import pytest

from shared.events import EventData, EventDecodeError, EventRegistry, new_envelope
from shared.events.contracts.registry import EVENTS, PrinterRegistered
from shared.kafka.topics import TOPICS

REGISTRY = EventRegistry(EVENTS)


def _printer_event() -> PrinterRegistered:
    return PrinterRegistered(
        printer_id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        revision=1,
        name="Lobby",
        model="M1",
        region="eu-west",
        location=None,
    )


def _raw(**override: object) -> bytes:
    data = _printer_event()
    env = new_envelope(data, source="registry", tenant_id=data.tenant_id)
    obj = json.loads(env.to_bytes())
    obj.update(override)
    return json.dumps(obj).encode()


def test_round_trip_keeps_every_envelope_field() -> None:
    data = _printer_event()
    cid, cause = uuid.uuid4(), uuid.uuid4()
    env = new_envelope(
        data, source="registry", tenant_id=data.tenant_id, correlation_id=cid, causation_id=cause
    )
    decoded = REGISTRY.decode(env.to_bytes())
    assert decoded.envelope == env
    assert decoded.data == data
    assert decoded.envelope.key == str(data.printer_id)
    assert (decoded.envelope.correlation_id, decoded.envelope.causation_id) == (cid, cause)


def test_new_envelope_without_correlation_starts_a_chain() -> None:
    env = new_envelope(_printer_event(), source="registry", tenant_id=None)
    assert env.correlation_id == env.event_id
    assert env.occurred_at.tzinfo is not None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"{not json", "not UTF-8 JSON"),
        (None, "tombstone"),
        (b"[]", "invalid envelope"),
        (_raw(event_id="nope"), "event_id"),
        (_raw(surprise=1), "surprise"),
        (_raw(occurred_at="2026-01-01T00:00:00"), "occurred_at"),
        (_raw(type="printer.exploded"), "unknown event type 'printer.exploded'"),
        (_raw(version=7), "unknown version 7 of event type 'printer.registered' (known: [1])"),
        (_raw(data={"printer_id": "x"}), "invalid payload for printer.registered v1"),
        (_raw(key="someone-else"), "does not match payload key"),
    ],
)
def test_bad_messages_are_refused_with_a_reason(raw: bytes | None, reason: str) -> None:
    with pytest.raises(EventDecodeError) as err:
        REGISTRY.decode(raw)
    assert reason in err.value.reason


def test_payload_models_forbid_unknown_fields() -> None:
    raw = json.loads(_raw())
    raw["data"]["colour"] = "red"
    with pytest.raises(EventDecodeError, match="colour"):
        REGISTRY.decode(json.dumps(raw).encode())


def test_registering_two_models_for_one_type_and_version_is_refused() -> None:
    class Impostor(EventData):
        event_type: ClassVar[str] = "printer.registered"
        event_version: ClassVar[int] = 1
        topic: ClassVar[str] = "registry.printers"

    with pytest.raises(ValueError, match="registered twice"):
        EventRegistry([*EVENTS, Impostor])


def test_every_event_goes_to_a_declared_topic() -> None:
    declared = {t.name for t in TOPICS}
    for model in REGISTRY.models():
        assert model.topic in declared, model


def test_topic_names_are_unique_and_owned() -> None:
    names = [t.name for t in TOPICS]
    assert len(names) == len(set(names))
    assert all(t.partitions >= 1 and t.owner for t in TOPICS)


def test_inbox_outlives_every_topic_so_a_replay_is_still_deduplicated() -> None:
    from shared.settings import ServiceSettings

    longest_days = max(t.retention_ms for t in TOPICS if not t.compacted) / 86_400_000
    assert ServiceSettings.model_fields["inbox_retention_days"].default > longest_days


def test_min_insync_replicas_follows_replication() -> None:
    spec = TOPICS[0]
    assert spec.config(1)["min.insync.replicas"] == "1"
    assert spec.config(3)["min.insync.replicas"] == "2"
