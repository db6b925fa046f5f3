"""Whether a changed event schema still describes the same messages.

Consumers read a topic's history as well as its new messages, and every event
model forbids unknown fields (``additionalProperties: false``). So a payload
schema of one (type, version) may change only in its documentation: any other
difference (a field added, removed or retyped, a constraint tightened or
loosened, an enum value added) lets some message be valid for one side and
invalid for the other, and needs a new ``event_version``.

:func:`breaking_changes` compares two schemas after removing documentation and
returns one readable line per difference, with the JSON path where it is.
"""

from __future__ import annotations

from typing import Any

DOCUMENTATION_KEYS = frozenset({"description", "title", "examples", "$comment", "$id"})
"""Keys that change what a schema says, never what it accepts."""


def normalise(schema: Any) -> Any:
    """``schema`` without documentation keys (recursively)."""
    if isinstance(schema, dict):
        return {
            k: normalise(v)
            for k, v in schema.items()
            if k not in DOCUMENTATION_KEYS or not _is_doc_value(k, v)
        }
    if isinstance(schema, list):
        return [normalise(v) for v in schema]
    return schema


def _is_doc_value(key: str, value: Any) -> bool:
    # "title" or "description" can also be a property *name* under "properties":
    # there its value is a schema (a dict), and it must stay.
    return not (key in {"title", "description", "examples"} and isinstance(value, dict))


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every difference between ``old`` and ``new`` that changes which messages are
    valid, as ``path: what changed`` lines (empty when only documentation differs)."""
    out: list[str] = []
    _diff(normalise(old), normalise(new), "$", out)
    return out


def _diff(old: Any, new: Any, path: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        if path.endswith(".properties"):
            for name in sorted(old.keys() - new.keys()):
                out.append(f"{path}.{name}: field removed")
            for name in sorted(new.keys() - old.keys()):
                out.append(f"{path}.{name}: field added")
        else:
            for key in sorted(old.keys() ^ new.keys()):
                state = "removed" if key in old else "added"
                out.append(f"{path}.{key}: {state} ({_short(old.get(key, new.get(key)))})")
        for key in sorted(old.keys() & new.keys()):
            _diff(old[key], new[key], f"{path}.{key}", out)
        return
    if isinstance(old, list) and isinstance(new, list) and path.endswith((".required", ".enum")):
        gone, added = (
            sorted(map(str, set(map(str, old)) - set(map(str, new)))),
            sorted(set(map(str, new)) - set(map(str, old))),
        )
        if gone:
            out.append(f"{path}: no longer lists {gone}")
        if added:
            out.append(f"{path}: now also lists {added}")
        return
    if old != new:
        out.append(f"{path}: {_short(old)} -> {_short(new)}")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
