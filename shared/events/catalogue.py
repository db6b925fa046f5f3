"""The event catalogue in Markdown, generated from the topic table and the models.

``printcloud schemas write`` writes it to ``docs/catalogue.md`` together with the
JSON Schemas, and a test fails when it is stale: the catalogue is never typed by
hand, so it cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from shared.events.envelope import EventData
from shared.kafka.topics import TopicSpec

CATALOGUE = Path(__file__).resolve().parents[2] / "docs" / "catalogue.md"


def _retention(t: TopicSpec) -> str:
    return "compacted" if t.compacted else f"{t.retention_ms // 86_400_000} days"


def _type(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"object `{schema['$ref'].rsplit('/', 1)[-1]}`"
    if "anyOf" in schema:
        return " or ".join(_type(s, defs) for s in schema["anyOf"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}), defs)}"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    fmt = schema.get("format")
    if kind == "null":
        return "`null`"
    return f"{kind} ({fmt})" if fmt else str(kind)


# Meanings of fields that recur across events, used where a model gives none.
COMMON = {
    "tenant_id": "The tenant the subject belongs to (equals the envelope's `tenant_id`).",
    "printer_id": "The printer (the partition key of printer events).",
    "device_id": "The printer or connector the event is about (the partition key).",
    "virtual_printer_id": "The virtual printer (the partition key).",
    "session_id": "One websocket session of the device on a gateway replica.",
    "at": "When it happened, as seen by the publisher (UTC).",
    "name": "Display name, unique within the tenant regardless of letter case.",
    "model": "Make and model.",
    "region": "Lowercase region code, e.g. `eu-west`.",
    "location": "Where it stands; `null` when not set.",
    "capabilities": "The full capabilities document (see the Capabilities object in the schema).",
    "reported_at": "When the device took the reading (UTC).",
    "reason": "Why it happened.",
}


def _fields(model: type[EventData]) -> list[str]:
    schema = model.model_json_schema(mode="serialization")
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    rows = ["| field | type | required | meaning |", "| --- | --- | --- | --- |"]
    for name, prop in schema["properties"].items():
        meaning = (prop.get("description") or COMMON.get(name, "")).replace("\n", " ")
        req = "yes" if name in required else "no"
        rows.append(f"| `{name}` | {_type(prop, defs)} | {req} | {meaning} |")
    return rows


def render(topics: Sequence[TopicSpec], models: Iterable[type[EventData]]) -> str:
    """The whole catalogue page."""
    models = sorted(models, key=lambda m: (m.topic, m.event_type, m.event_version))
    out = [
        "# Event catalogue",
        "",
        "Generated from the code by `printcloud schemas write`; do not edit by hand.",
        "The envelope, delivery guarantees and versioning rules are in",
        "[events.md](events.md); each event's JSON Schema is in `shared/schemas/`.",
        "",
        "## Topics",
        "",
        "| topic | owner | key | partitions | retention | contents |",
        "| --- | --- | --- | ---: | --- | --- |",
    ]
    for t in topics:
        out.append(
            f"| `{t.name}` | {t.owner} | `{t.key}` | {t.partitions} | {_retention(t)} | "
            f"{t.description} |"
        )
    out += ["", "## Event types", ""]
    for m in models:
        doc = " ".join((m.__doc__ or "").split())
        schema_file = f"shared/schemas/{m.event_type}.v{m.event_version}.json"
        out += [
            f"### `{m.event_type}` v{m.event_version}",
            "",
            f"{doc} Topic `{m.topic}`; schema `{schema_file}`.",
            "",
            *_fields(m),
            "",
        ]
    return "\n".join(out).rstrip() + "\n"


def stale(topics: Sequence[TopicSpec], models: Iterable[type[EventData]]) -> bool:
    """True when docs/catalogue.md differs from what the code would write."""
    return not CATALOGUE.exists() or CATALOGUE.read_text() != render(topics, models)


def write(topics: Sequence[TopicSpec], models: Iterable[type[EventData]]) -> bool:
    """Write the catalogue if it changed; True when it did."""
    text = render(topics, models)
    if CATALOGUE.exists() and CATALOGUE.read_text() == text:
        return False
    CATALOGUE.write_text(text)
    return True
