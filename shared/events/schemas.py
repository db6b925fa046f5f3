"""JSON Schemas of the envelope and every event payload, committed beside the code.

Analytics consumers read them; a test fails when a model changes and its
committed schema does not (``printcloud schemas write`` regenerates them), and
when the change is breaking (:mod:`shared.events.compat`) without a new
``event_version``: the writer refuses to overwrite such a file. A superseded
version's file stays committed, since its messages stay on the topics.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shared.events.compat import breaking_changes
from shared.events.envelope import Envelope, EventData

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"


def file_name(model: type[EventData]) -> str:
    """``printer.registered.v1.json`` for PrinterRegistered v1."""
    return f"{model.event_type}.v{model.event_version}.json"


def event_schema(model: type[EventData]) -> dict[str, Any]:
    """The payload schema of one event type, with its identity and topic."""
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://printcloud.dev/schemas/{file_name(model)}"
    schema["x-printcloud"] = {
        "type": model.event_type,
        "version": model.event_version,
        "topic": model.topic,
    }
    return schema


def envelope_schema() -> dict[str, Any]:
    """The schema of the envelope every event travels in."""
    schema = Envelope.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://printcloud.dev/schemas/envelope.json"
    return schema


def render(models: Iterable[type[EventData]]) -> dict[str, str]:
    """File name -> JSON text for the envelope and every model."""
    files = {"envelope.json": envelope_schema()}
    files.update({file_name(m): event_schema(m) for m in models})
    return {name: json.dumps(body, indent=2, sort_keys=True) + "\n" for name, body in files.items()}


class BreakingChange(Exception):
    """A model changed what its committed (type, version) schema accepts."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        self.problems = problems
        lines = [f"{name}: {change}" for name, changes in problems.items() for change in changes]
        super().__init__(
            "breaking change without a new event_version (bump the model's event_version "
            "and keep publishing the old one until its consumers move):\n  " + "\n  ".join(lines)
        )


def breaking(
    models: Iterable[type[EventData]], directory: Path = SCHEMA_DIR
) -> dict[str, list[str]]:
    """File name -> breaking changes, for each committed schema a model now contradicts."""
    out: dict[str, list[str]] = {}
    for name, text in render(models).items():
        path = directory / name
        if name == "envelope.json" or not path.exists():
            continue
        changes = breaking_changes(json.loads(path.read_text()), json.loads(text))
        if changes:
            out[name] = changes
    return out


def write(
    models: Iterable[type[EventData]], directory: Path = SCHEMA_DIR, allow_breaking: bool = False
) -> list[str]:
    """Write every schema file that differs; returns the names written.

    Refuses (:class:`BreakingChange`, nothing written) when a committed schema would
    change what it accepts, unless ``allow_breaking`` (for a version never released).
    """
    models = list(models)
    problems = breaking(models, directory)
    if problems and not allow_breaking:
        raise BreakingChange(problems)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render(models).items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(name)
    return written


def stale(models: Iterable[type[EventData]], directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of schema files that are missing, outdated, or left over (a file of an
    older version of a type that still has a model is history, not left over)."""
    models = list(models)
    want = render(models)
    have = {p.name for p in directory.glob("*.json")} if directory.is_dir() else set()
    out = sorted(n for n, t in want.items() if n not in have or (directory / n).read_text() != t)
    latest = {m.event_type: m.event_version for m in models}
    return out + sorted(n for n in have - set(want) if not _superseded(n, latest))


def _superseded(name: str, latest: dict[str, int]) -> bool:
    """Whether ``name`` is the schema of an older version of a type that has a model."""
    stem, _, suffix = name.removesuffix(".json").rpartition(".v")
    return suffix.isdigit() and stem in latest and int(suffix) < latest[stem]
