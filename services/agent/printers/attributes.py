"""From a printer's IPP attributes (Get-Printer-Attributes) to Printcloud's model.

Pure functions over the attribute dictionary an IPP client returns. Values the
:class:`Capabilities` model refuses (a malformed keyword, an unknown enum, a
colour mode outside IPP's list) are dropped; the rest is kept in the printer's
order, so what the cloud offers is exactly what the printer said it can do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, get_args

from services.agent.printers import PrinterState, Probe
from shared.printing.capabilities import Capabilities, ColorMode, Sides

REQUESTED = [
    "document-format-supported", "media-supported", "media-default", "media-type-supported",
    "media-source-supported", "output-bin-supported", "sides-supported",
    "print-color-mode-supported", "color-supported", "printer-resolution-supported",
    "finishings-supported", "finishing-template-supported", "copies-supported",
    "page-ranges-supported", "printer-state", "printer-state-reasons", "printer-state-message",
]  # fmt: skip

# finishings enum values -> keywords (RFC 8011 section 5.2.6, PWG 5100.1 and the IANA registry)
FINISHINGS: dict[int, str] = {
    3: "none", 4: "staple", 5: "punch", 6: "cover", 7: "bind", 8: "saddle-stitch",
    9: "edge-stitch", 10: "fold", 11: "trim", 12: "bale", 13: "booklet-maker",
    14: "jog-offset", 15: "coat", 16: "laminate",
    20: "staple-top-left", 21: "staple-bottom-left", 22: "staple-top-right",
    23: "staple-bottom-right", 24: "edge-stitch-left", 25: "edge-stitch-top",
    26: "edge-stitch-right", 27: "edge-stitch-bottom", 28: "staple-dual-left",
    29: "staple-dual-top", 30: "staple-dual-right", 31: "staple-dual-bottom",
    32: "staple-triple-left", 33: "staple-triple-top", 34: "staple-triple-right",
    35: "staple-triple-bottom", 50: "bind-left", 51: "bind-top", 52: "bind-right",
    53: "bind-bottom", 60: "trim-after-pages", 61: "trim-after-documents",
    62: "trim-after-copies", 63: "trim-after-job", 70: "punch-top-left",
    71: "punch-bottom-left", 72: "punch-top-right", 73: "punch-bottom-right",
    74: "punch-dual-left", 75: "punch-dual-top", 76: "punch-dual-right",
    77: "punch-dual-bottom", 78: "punch-triple-left", 79: "punch-triple-top",
    80: "punch-triple-right", 81: "punch-triple-bottom", 82: "punch-quad-left",
    83: "punch-quad-top", 84: "punch-quad-right", 85: "punch-quad-bottom",
    86: "punch-multiple-left", 87: "punch-multiple-top", 88: "punch-multiple-right",
    89: "punch-multiple-bottom", 90: "fold-accordion", 91: "fold-double-gate",
    92: "fold-gate", 93: "fold-half", 94: "fold-half-z", 95: "fold-left-gate",
    96: "fold-letter", 97: "fold-parallel", 98: "fold-poster", 99: "fold-right-gate",
    100: "fold-z", 101: "fold-engineering-z",
}  # fmt: skip
PRINTER_STATES: dict[int, PrinterState] = {3: "idle", 4: "processing", 5: "stopped"}
RESOLUTION_UNITS = {3: "dpi", 4: "dpcm"}
_KEYWORD = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,254}$")
_MIME = re.compile(r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$")


def values(attrs: Mapping[str, Any], name: str) -> list[Any]:
    """An attribute as a list (IPP clients give a lone value for a one-value set)."""
    value = attrs.get(name)
    if value is None:
        return []
    if isinstance(value, list | tuple) and not _is_resolution(value):
        return list(value)
    return [value]


def _is_resolution(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 3 and all(isinstance(v, int) for v in value)


def _keywords(attrs: Mapping[str, Any], name: str, limit: int = 64) -> list[str]:
    found = [v for v in values(attrs, name) if isinstance(v, str) and _KEYWORD.match(v)]
    return found[:limit]


def _finishings(attrs: Mapping[str, Any]) -> list[str]:
    enums = [
        FINISHINGS[int(v)]
        for v in values(attrs, "finishings-supported")
        if isinstance(v, int) and int(v) in FINISHINGS
    ]
    if enums:
        return enums
    templates = _keywords(attrs, "finishing-template-supported")
    return templates or ["none"]


def _resolutions(attrs: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = []
    for value in values(attrs, "printer-resolution-supported"):
        if _is_resolution(value) and value[2] in RESOLUTION_UNITS and value[0] > 0 < value[1]:
            found.append({"x": value[0], "y": value[1], "units": RESOLUTION_UNITS[value[2]]})
    return found[:32]


def _copies_max(attrs: Mapping[str, Any]) -> int:
    bounds = values(attrs, "copies-supported")
    if len(bounds) == 2 and all(isinstance(b, int) for b in bounds) and bounds[1] >= 1:
        return min(int(bounds[1]), 1_000_000)
    return 1


def _colour_modes(attrs: Mapping[str, Any]) -> list[ColorMode]:
    allowed = get_args(ColorMode)
    modes = [v for v in values(attrs, "print-color-mode-supported") if v in allowed]
    if modes:
        return modes
    return ["color", "monochrome"] if attrs.get("color-supported") is True else ["monochrome"]


def capabilities_from_attributes(attrs: Mapping[str, Any]) -> Capabilities:
    """The :class:`Capabilities` a printer's IPP attributes describe."""
    formats = [
        v.lower() for v in values(attrs, "document-format-supported")
        if isinstance(v, str) and _MIME.match(v.lower())
    ]  # fmt: skip
    media = _keywords(attrs, "media-supported", 512)
    default = attrs.get("media-default")
    sides: list[Sides] = [v for v in values(attrs, "sides-supported") if v in get_args(Sides)]
    return Capabilities.model_validate(
        {
            "document_format_supported": formats[:64],
            "media_supported": media,
            "media_default": default if default in media else None,
            "media_type_supported": _keywords(attrs, "media-type-supported", 128),
            "media_source_supported": _keywords(attrs, "media-source-supported"),
            "output_bin_supported": _keywords(attrs, "output-bin-supported"),
            "sides_supported": sides or ["one-sided"],
            "print_color_mode_supported": _colour_modes(attrs),
            "printer_resolution_supported": _resolutions(attrs),
            "finishings_supported": _finishings(attrs)[:64],
            "copies_supported": {"min": 1, "max": _copies_max(attrs)},
            "page_ranges_supported": attrs.get("page-ranges-supported") is True,
        }
    )


def probe_from_attributes(attrs: Mapping[str, Any]) -> Probe:
    """Capabilities and state (printer-state, printer-state-reasons) from the attributes."""
    raw_state = attrs.get("printer-state")
    state = PRINTER_STATES.get(int(raw_state), "idle") if raw_state is not None else "idle"
    reasons = [r for r in _keywords(attrs, "printer-state-reasons", 50) if r != "none"]
    message = attrs.get("printer-state-message")
    return Probe(
        capabilities_from_attributes(attrs),
        state=state,
        reasons=reasons,
        message=message[:1000] if isinstance(message, str) else "",
    )
