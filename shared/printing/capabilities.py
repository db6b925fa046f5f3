"""What a printer can really do, in IPP's vocabulary (RFC 8011, PWG 5100.x).

Devices report a :class:`Capabilities` document (the agent reads it from the
printer's own IPP attributes when it bridges a real printer). Names follow the
IPP attributes they come from (``media-supported`` becomes ``media_supported``)
and values are IPP keywords (``two-sided-long-edge``, ``iso_a4_210x297mm``).

A virtual printer offers what every member offers: :func:`intersect`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Keyword = str  # an IPP keyword: lowercase letters, digits, '-', '_' and '.'
_KEYWORD = r"^[a-z0-9][a-z0-9_.-]{0,254}$"
_MIME = r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$"

Sides = Literal["one-sided", "two-sided-long-edge", "two-sided-short-edge"]
ColorMode = Literal[
    "auto", "auto-monochrome", "bi-level", "color", "highlight", "monochrome",
    "process-bi-level", "process-monochrome",
]  # fmt: skip


class Resolution(BaseModel):
    """A printer-resolution value: cross-feed x feed, in dots per inch or cm."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    x: int = Field(ge=1, le=100_000)
    y: int = Field(ge=1, le=100_000)
    units: Literal["dpi", "dpcm"] = "dpi"


class CopiesRange(BaseModel):
    """copies-supported: the inclusive range of the copies attribute (it starts at 1)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    min: int = Field(default=1, ge=1, le=1)
    max: int = Field(default=1, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _ordered(self) -> CopiesRange:
        if self.max < self.min:
            raise ValueError("copies max must be >= min")
        return self


def _one_sided() -> list[Sides]:
    return ["one-sided"]


def _monochrome() -> list[ColorMode]:
    return ["monochrome"]


def _unique(values: list[object]) -> list[object]:
    seen: list[object] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


class Capabilities(BaseModel):
    """A printer's capabilities; lists keep the device's order, without repeats."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    document_format_supported: list[str] = Field(
        default_factory=list, max_length=64, json_schema_extra={"items": {"pattern": _MIME}}
    )
    media_supported: list[Keyword] = Field(default_factory=list, max_length=512)
    media_default: Keyword | None = None
    media_type_supported: list[Keyword] = Field(default_factory=list, max_length=128)
    media_source_supported: list[Keyword] = Field(default_factory=list, max_length=64)
    output_bin_supported: list[Keyword] = Field(default_factory=list, max_length=64)
    sides_supported: list[Sides] = Field(default_factory=_one_sided)
    print_color_mode_supported: list[ColorMode] = Field(default_factory=_monochrome)
    printer_resolution_supported: list[Resolution] = Field(default_factory=list, max_length=32)
    finishings_supported: list[Keyword] = Field(default_factory=lambda: ["none"], max_length=64)
    copies_supported: CopiesRange = Field(default_factory=CopiesRange)
    page_ranges_supported: bool = False

    @field_validator(
        "media_supported", "media_type_supported", "media_source_supported",
        "output_bin_supported", "finishings_supported", mode="after",
    )  # fmt: skip
    @classmethod
    def _keywords(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if not re.match(_KEYWORD, v)]
        if bad:
            raise ValueError(f"not IPP keywords: {bad[:5]}")
        return values

    @field_validator("document_format_supported", mode="after")
    @classmethod
    def _mime_types(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if not re.match(_MIME, v)]
        if bad:
            raise ValueError(f"not MIME media types: {bad[:5]}")
        return values

    @field_validator("*", mode="after")
    @classmethod
    def _dedupe(cls, value: object) -> object:
        return _unique(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _default_is_supported(self) -> Capabilities:
        if self.media_default is not None and self.media_default not in self.media_supported:
            raise ValueError("media_default must be one of media_supported")
        return self

    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON form: equal documents, equal fingerprints."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def missing_essentials(self) -> list[str]:
        """Fields a device must report for a printer to be usable (empty when fine)."""
        return [
            name
            for name in ("document_format_supported", "media_supported")
            if not getattr(self, name)
        ]


def _common(lists: Sequence[Sequence[object]]) -> list[object]:
    first, *rest = lists
    return [v for v in first if all(v in other for other in rest)]


def intersect(documents: Sequence[Capabilities]) -> Capabilities:
    """What every one of ``documents`` supports (the first one's order is kept).

    An empty list in the result means the members share nothing for that
    attribute; a job asking for it cannot be accepted by the virtual printer.
    """
    if not documents:
        return Capabilities(
            sides_supported=[], print_color_mode_supported=[], finishings_supported=[]
        )
    fields = {
        name: _common([getattr(d, name) for d in documents])
        for name in Capabilities.model_fields
        if name not in {"copies_supported", "media_default", "page_ranges_supported"}
    }
    high = min(d.copies_supported.max for d in documents)
    defaults = {d.media_default for d in documents}
    media_default = defaults.pop() if len(defaults) == 1 else None
    return Capabilities.model_validate(
        {
            **fields,
            "copies_supported": {"min": 1, "max": high},
            "media_default": media_default if media_default in fields["media_supported"] else None,
            "page_ranges_supported": all(d.page_ranges_supported for d in documents),
        }
    )
