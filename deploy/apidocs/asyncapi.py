"""The AsyncAPI 3.0 document of Printcloud: every Kafka topic and the device websocket.

Generated from the one topic table (:data:`shared.kafka.topics.TOPICS`), the
event models (their committed JSON Schemas under ``shared/schemas/`` are
referenced, not copied) and the gateway's frame models; committed as
``docs/asyncapi.yaml`` and checked by a test like the other generated files.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from shared.events.envelope import EventData
from shared.events.schemas import file_name
from shared.kafka.topics import DEAD_LETTER_TOPIC, TopicSpec

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"
SCHEMAS_FROM_DOCS = "../shared/schemas"
KAFKA_BINDING = "0.5.0"
WS_BINDING = "0.1.0"

DLQ_HEADERS = {
    "dlq.reason": "Why the consumer could not apply the message.",
    "dlq.consumer": "The consumer group that parked it.",
    "dlq.topic": "The topic it was read from.",
    "dlq.partition": "Its partition there.",
    "dlq.offset": "Its offset there.",
}


def message_id(model: type[EventData]) -> str:
    """``job.submitted.v1``: the component name of an event's message."""
    return f"{model.event_type}.v{model.event_version}"


def _channel_id(topic: str) -> str:
    return topic.replace(".", "-")


def _event_message(model: type[EventData]) -> dict[str, Any]:
    doc = (model.__doc__ or "").strip()
    return {
        "name": model.event_type,
        "title": f"{model.event_type} v{model.event_version}",
        "summary": doc.splitlines()[0] if doc else model.event_type,
        "contentType": "application/json",
        "headers": {"$ref": "#/components/schemas/EventHeaders"},
        "payload": {
            "allOf": [
                {"$ref": f"{SCHEMAS_FROM_DOCS}/envelope.json"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": model.event_type},
                        "version": {"const": model.event_version},
                        "data": {"$ref": f"{SCHEMAS_FROM_DOCS}/{file_name(model)}"},
                    },
                },
            ]
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The partition key (aggregate id)."},
                "bindingVersion": KAFKA_BINDING,
            }
        },
    }


def _channel(topic: TopicSpec, models: Sequence[type[EventData]]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "cleanup.policy": ["compact" if topic.compacted else "delete"],
        "retention.ms": -1 if topic.compacted else topic.retention_ms,
    }
    channel: dict[str, Any] = {
        "address": topic.name,
        "title": topic.name,
        "description": (
            f"{topic.description}\n\nOwner: {topic.owner}. Key: {topic.key}. "
            f"Partitions: {topic.partitions}. Retention: "
            + (
                "compacted (latest per key, kept)"
                if topic.compacted
                else f"{topic.retention_ms // 86_400_000} days"
            )
        ),
        "servers": [{"$ref": "#/servers/kafka"}],
        "messages": {
            message_id(m): {"$ref": f"#/components/messages/{message_id(m)}"} for m in models
        },
        "bindings": {
            "kafka": {
                "topic": topic.name,
                "partitions": topic.partitions,
                "topicConfiguration": config,
                "bindingVersion": KAFKA_BINDING,
            }
        },
        "x-owner": topic.owner,
        "x-key": topic.key,
    }
    if topic.audited:
        channel["description"] += (
            "\n\nAdministrative: the audit service records every event of this topic whose "
            "envelope names an `actor` (docs/audit.md)."
        )
        channel["x-audited"] = True
    if topic.name == DEAD_LETTER_TOPIC:
        channel["messages"] = {"dead-letter": {"$ref": "#/components/messages/dead-letter"}}
    return channel


def _frame_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return schema


def _frames(union: Any) -> list[type[BaseModel]]:
    (inner, *_) = typing.get_args(union)
    return list(typing.get_args(inner))


def _frame_id(frame: type[BaseModel]) -> str:
    return f"ws.{frame.model_fields['type'].default}"


def _frame_defs(frames: Iterable[type[BaseModel]]) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for model in frames:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        defs.update(schema.get("$defs", {}))
    return defs


def render(topics: Sequence[TopicSpec], models: Sequence[type[EventData]]) -> str:
    """The AsyncAPI document as YAML text."""
    from shared.protocols import device as protocol

    device_frames = _frames(protocol.DeviceFrame)
    gateway_frames = _frames(protocol.GatewayFrame)
    by_topic = {t.name: [m for m in models if m.topic == t.name] for t in topics}

    messages: dict[str, Any] = {message_id(m): _event_message(m) for m in models}
    messages["dead-letter"] = {
        "name": "dead-letter",
        "title": "A parked message",
        "summary": "A message a consumer could not apply, unchanged, with the reason.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "properties": {k: {"type": "string", "description": v} for k, v in DLQ_HEADERS.items()},
        },
        "payload": {"description": "The original message value, byte for byte."},
    }
    schemas: dict[str, Any] = {
        "EventHeaders": {
            "type": "object",
            "description": "Kafka headers that let routers filter without parsing the body.",
            "properties": {
                "event_id": {"type": "string", "format": "uuid"},
                "type": {"type": "string"},
                "version": {"type": "string"},
                "tenant_id": {"type": "string"},
                "correlation_id": {"type": "string", "format": "uuid"},
            },
        }
    }
    schemas.update(_frame_defs(device_frames + gateway_frames))
    for frame in device_frames + gateway_frames:
        kind = frame.model_fields["type"].default
        messages[f"ws.{kind}"] = {
            "name": kind,
            "title": f"{kind} frame",
            "summary": (frame.__doc__ or kind).strip().splitlines()[0],
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/Frame.{kind}"},
        }
        schemas[f"Frame.{kind}"] = _frame_schema(frame)

    channels: dict[str, Any] = {_channel_id(t.name): _channel(t, by_topic[t.name]) for t in topics}
    ws_messages = {
        f"ws.{f.model_fields['type'].default}": None for f in device_frames + gateway_frames
    }
    channels["device-websocket"] = {
        "address": "/v1/devices/ws",
        "title": "Device websocket",
        "description": (
            "The one outbound websocket every printer and connector holds to a gateway "
            f"replica (protocol version {protocol.PROTOCOL_VERSION}; see docs/protocol.md). "
            "The gateway speaks first (hello), the device signs its nonce (auth), and after "
            "welcome both sides send the frames below as JSON text messages."
        ),
        "servers": [{"$ref": "#/servers/gateway"}],
        "messages": {k: {"$ref": f"#/components/messages/{k}"} for k in ws_messages},
        "bindings": {"ws": {"method": "GET", "bindingVersion": WS_BINDING}},
    }

    operations: dict[str, Any] = {}
    for t in topics:
        cid = _channel_id(t.name)
        refs = [{"$ref": f"#/channels/{cid}/messages/{k}"} for k in channels[cid]["messages"]]
        operations[f"{t.owner}.publishes.{cid}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{cid}"},
            "title": f"{t.owner} publishes on {t.name}",
            "summary": f"Only {t.owner} writes to {t.name}; any consumer group may read it.",
            "messages": refs,
        }
    for side, frames, action in (
        ("device", device_frames, "send"),
        ("gateway", gateway_frames, "receive"),
    ):
        operations[f"{side}-frames"] = {
            "action": action,
            "channel": {"$ref": "#/channels/device-websocket"},
            "title": f"Frames the {side} sends",
            "summary": f"What the {side} sends on the device websocket "
            "(operations are described from the device's side).",
            "messages": [
                {"$ref": f"#/channels/device-websocket/messages/{_frame_id(f)}"} for f in frames
            ],
        }

    document = {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Printcloud events and device protocol",
            "version": "1.0.0",
            "description": (
                "Every Kafka topic of Printcloud, who owns it, how it is keyed and kept, and "
                "the events on it (each references its committed JSON Schema in "
                "shared/schemas/), plus the device websocket served by the gateway. "
                "Events travel in one JSON envelope; `type` and `version` name the payload "
                "under `data`. This file is generated: `printcloud schemas write`."
            ),
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": "kafka-bootstrap:9092",
                "protocol": "kafka",
                "description": "The platform's Kafka cluster (locally 127.0.0.1:19092).",
            },
            "gateway": {
                "host": "print.example.com",
                "protocol": "wss",
                "description": "The public gateway address devices connect to.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
    return yaml.safe_dump(document, sort_keys=False, width=100, allow_unicode=True)


def stale(topics: Sequence[TopicSpec], models: Sequence[type[EventData]]) -> bool:
    """Whether the committed document differs from the generated one."""
    return not DOCUMENT.exists() or DOCUMENT.read_text() != render(topics, models)


def write(topics: Sequence[TopicSpec], models: Sequence[type[EventData]]) -> bool:
    """Write the document if it changed; True when written."""
    text = render(topics, models)
    if DOCUMENT.exists() and DOCUMENT.read_text() == text:
        return False
    DOCUMENT.write_text(text)
    return True
