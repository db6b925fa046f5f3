"""A print job's settings, in IPP's vocabulary, and the check against a printer.

:func:`check` compares settings with the :class:`Capabilities` of the target
printer (or the intersection over a virtual printer's members) and returns one
:class:`SettingProblem` per offending setting, naming the values that would be
accepted; an empty list means the printer can print the job as asked.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.printing.capabilities import Capabilities, ColorMode, Resolution, Sides

Orientation = Literal["portrait", "landscape", "reverse-landscape", "reverse-portrait"]


class PageRange(BaseModel):
    """An inclusive range of pages, 1-based (IPP page-ranges)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    first: int = Field(ge=1, le=1_000_000)
    last: int = Field(ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _ordered(self) -> PageRange:
        if self.last < self.first:
            raise ValueError("last must be >= first")
        return self


class JobSettings(BaseModel):
    """What the user asked for; an unset field means the printer's default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    copies: int = Field(default=1, ge=1, le=1_000_000)
    sides: Sides | None = None
    media: str | None = Field(default=None, max_length=255, description="IPP media keyword.")
    print_color_mode: ColorMode | None = None
    printer_resolution: Resolution | None = None
    page_ranges: list[PageRange] | None = Field(default=None, max_length=100)
    orientation: Orientation | None = None
    finishings: list[str] = Field(default_factory=list, max_length=32)
    collate: bool = True

    def printed_pages(self, document_pages: int | None) -> int | None:
        """Impressions' worth of pages: selected pages x copies (None when unknown)."""
        if document_pages is None:
            return None
        pages = document_pages
        if self.page_ranges:
            chosen: set[int] = set()
            for r in self.page_ranges:
                chosen.update(range(r.first, min(r.last, document_pages) + 1))
            pages = len(chosen)
        return pages * self.copies

    @property
    def colour(self) -> bool:
        """Whether the job asks for colour output."""
        return self.print_color_mode == "color"


class SettingProblem(BaseModel):
    """One setting the printer cannot honour, and what it would accept instead."""

    model_config = ConfigDict(frozen=True)
    setting: str
    value: object
    allowed: object
    reason: str


def check(
    settings: JobSettings, caps: Capabilities, document_format: str | None = None
) -> list[SettingProblem]:
    """Every setting of ``settings`` (and the document format) ``caps`` cannot honour."""
    problems: list[SettingProblem] = []

    def refuse(setting: str, value: object, allowed: object, reason: str) -> None:
        problems.append(
            SettingProblem(setting=setting, value=value, allowed=allowed, reason=reason)
        )

    if document_format is not None and document_format not in caps.document_format_supported:
        refuse("document_format", document_format, caps.document_format_supported,
               "the printer does not accept this document format")  # fmt: skip
    if settings.copies > caps.copies_supported.max:
        refuse("copies", settings.copies, {"min": 1, "max": caps.copies_supported.max},
               "more copies than the printer allows")  # fmt: skip
    if settings.sides is not None and settings.sides not in caps.sides_supported:
        refuse("sides", settings.sides, caps.sides_supported, "not supported by the printer")
    if settings.media is not None and settings.media not in caps.media_supported:
        refuse("media", settings.media, caps.media_supported, "not loaded or not supported")
    mode = settings.print_color_mode
    if mode is not None and mode not in caps.print_color_mode_supported:
        refuse("print_color_mode", mode, caps.print_color_mode_supported,
               "not supported by the printer")  # fmt: skip
    res = settings.printer_resolution
    if res is not None and res not in caps.printer_resolution_supported:
        refuse("printer_resolution", res.model_dump(),
               [r.model_dump() for r in caps.printer_resolution_supported],
               "not supported by the printer")  # fmt: skip
    if settings.page_ranges and not caps.page_ranges_supported:
        refuse("page_ranges", [r.model_dump() for r in settings.page_ranges], None,
               "the printer cannot print page ranges")  # fmt: skip
    bad = [f for f in settings.finishings if f not in caps.finishings_supported]
    if bad:
        refuse("finishings", bad, caps.finishings_supported, "not supported by the printer")
    return problems
