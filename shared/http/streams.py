"""Caps on long-lived streams (server-sent events, websockets) held at once.

A stream costs the server a connection, a task and, for job streams, a database
listener for as long as the client cares to keep it. :class:`StreamSlots` counts the
open streams per key (a client address at the edge, a credential in a service) and
refuses one more than ``limit`` with ``429 too-many-streams`` (problem+json, with
``Retry-After``); a slot is given back when its stream ends, however it ends.
"""

from __future__ import annotations

import collections
import contextlib
import uuid
from collections.abc import Iterator

from shared.errors import TooManyRequests
from shared.http.auth import Principal

STREAMS_RETRY_AFTER_S = 30
"""What a refused client is told to wait: a stream of its own has to end first."""


class StreamSlots:
    """Open streams per key; each :meth:`hold` says the limit (read from settings)."""

    def __init__(self, what: str = "streams") -> None:
        self._what = what
        self._open: collections.Counter[str] = collections.Counter()

    def held(self, key: str) -> int:
        """How many streams ``key`` holds now."""
        return self._open[key]

    def __len__(self) -> int:
        """How many keys hold streams (the counter forgets keys that hold none)."""
        return len(self._open)

    @contextlib.contextmanager
    def hold(self, key: str, limit: int, holder: str = "this client") -> Iterator[None]:
        """A slot for the duration of the ``with`` block, or TooManyRequests (429) when
        ``key`` holds ``limit`` streams already."""
        if self._open[key] >= limit:
            raise TooManyRequests(
                f"{holder} holds {self._open[key]} open {self._what} already (at most "
                f"{limit}); close one first",
                code="too-many-streams",
                title="Too many streams",
                retry_after=STREAMS_RETRY_AFTER_S,
                extensions={"limit": limit},
            )
        self._open[key] += 1
        try:
            yield
        finally:
            self._open[key] -= 1
            if self._open[key] <= 0:
                del self._open[key]


def credential_key(who: Principal) -> str:
    """One key per credential: the API token an access token came from, else the device,
    else the subject (one operator token, one user without a token id)."""
    if who.token_id is not None:
        return f"token:{who.token_id}"
    if who.device_id is not None:
        return f"device:{who.device_id}"
    tenant = who.tenant_id or uuid.UUID(int=0)
    return f"subject:{tenant}:{who.subject}"
