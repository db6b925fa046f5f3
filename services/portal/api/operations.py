"""The portal's HTTP operations in the public API: none. Its pages (``/portal/…``) are
HTML for browsers, not API; everything they do is an operation of the other services."""

from __future__ import annotations

from shared.http.operations import Operation

TAG = "portal"
TAGS: dict[str, str] = {}
OPERATIONS: list[Operation] = []
