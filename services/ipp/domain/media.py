"""PWG 5101.1 self-describing media names and their sizes (for media-col)."""

from __future__ import annotations

import re

_SIZE = re.compile(r"^[a-z0-9]+_[a-z0-9.-]+_(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)(mm|in)$")


def media_size(keyword: str) -> tuple[int, int] | None:
    """The size of ``keyword`` in hundredths of millimetres (x, y), or None."""
    m = _SIZE.match(keyword)
    if m is None:
        return None
    scale = 100.0 if m.group(3) == "mm" else 2540.0
    return round(float(m.group(1)) * scale), round(float(m.group(2)) * scale)


def media_for_size(keywords: list[str], x: int, y: int) -> str | None:
    """The supported media keyword of size (x, y) in 1/100 mm, within 1 mm, or None."""
    for keyword in keywords:
        size = media_size(keyword)
        if size and abs(size[0] - x) <= 100 and abs(size[1] - y) <= 100:
            return keyword
    return None
