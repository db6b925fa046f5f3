"""Counting a document's pages while it streams past, in bounded memory.

Each counter sees the document chunk by chunk and keeps only a few bytes of
the previous chunk (a marker may straddle two). The count is a best effort:
a PDF whose page objects sit in compressed object streams yields None, and
the client may say how many pages there are instead.
"""

from __future__ import annotations

import re
from typing import Protocol

PDF = "application/pdf"
PWG_RASTER = "image/pwg-raster"
SINGLE_PAGE_FORMATS = frozenset({"image/jpeg", "image/png"})

# A page object's dictionary says /Type /Page; the page tree's says /Type /Pages.
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z0-9])")
_PDF_TAIL = 32
# A PWG raster file starts with the sync word "RaS2"; each page starts with a
# 1796-byte header whose first field is "PwgRaster" padded with NULs.
_PWG_SYNC = b"RaS2"
_PWG_PAGE = b"PwgRaster\x00"


class PageCounter(Protocol):
    """Sees a document's chunks in order; says how many pages it had."""

    def feed(self, chunk: bytes) -> None:
        """One more chunk of the document."""
        ...

    def pages(self) -> int | None:
        """The page count, None when this counter cannot tell."""
        ...


class _MarkerCounter:
    """Counts occurrences of a pattern across chunk boundaries."""

    def __init__(self, pattern: re.Pattern[bytes], tail: int, prefix: bytes = b"") -> None:
        self._pattern = pattern
        self._tail_size = tail
        self._tail = b""
        self._offset = 0  # absolute position of the tail's first byte
        self._last_end = -1  # absolute end of the last match counted
        self._count = 0
        self._prefix = prefix
        self._head = b""
        self._valid: bool | None = None if prefix else True

    def feed(self, chunk: bytes) -> None:
        if self._valid is None:
            self._head += chunk[: len(self._prefix) - len(self._head)]
            if len(self._head) < len(self._prefix):
                return
            self._valid = self._head == self._prefix
        if not self._valid:
            return
        self._scan(self._tail + chunk, final=False)

    def _scan(self, window: bytes, *, final: bool) -> None:
        for m in self._pattern.finditer(window):
            # A match touching the window's end may continue in the next chunk
            # (/Type /Page then "s"): it is decided with more bytes, or at the end.
            if m.end() == len(window) and not final:
                continue
            end = self._offset + m.end()
            if end > self._last_end:
                self._count += 1
                self._last_end = end
        keep = window[-self._tail_size :]
        self._offset += len(window) - len(keep)
        self._tail = keep

    def pages(self) -> int | None:
        if not self._valid:
            return None
        self._scan(self._tail, final=True)
        return self._count if self._count > 0 else None


class _Fixed:
    def __init__(self, pages: int | None) -> None:
        self._pages = pages

    def feed(self, chunk: bytes) -> None:
        pass

    def pages(self) -> int | None:
        return self._pages


def _pwg_pattern() -> re.Pattern[bytes]:
    return re.compile(re.escape(_PWG_PAGE))


def counter_for(document_format: str) -> PageCounter:
    """The page counter of a document format (one that says None for unknown formats)."""
    if document_format == PDF:
        return _MarkerCounter(_PDF_PAGE, _PDF_TAIL)
    if document_format == PWG_RASTER:
        return _MarkerCounter(_pwg_pattern(), len(_PWG_PAGE), prefix=_PWG_SYNC)
    if document_format in SINGLE_PAGE_FORMATS:
        return _Fixed(1)
    return _Fixed(None)
