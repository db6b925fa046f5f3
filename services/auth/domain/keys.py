"""The signing-key schedule: which key signs, when to rotate, when a key may go.

A key is published (in the JWKS) from ``created_at`` and signs from
``activates_at``; the key that signs at a moment is the one with the latest
``activates_at`` not after it. A key stops signing when its successor activates;
the tokens it signed live at most the token lifetime after that, so it stays
published for that long (plus the verifiers' clock leeway) and is then removed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class KeySlot:
    """A signing key's public identity and schedule (never its private half)."""

    kid: str
    created_at: datetime
    activates_at: datetime


def signing_key(keys: Sequence[KeySlot], now: datetime) -> KeySlot | None:
    """The key that signs at ``now``."""
    active = [k for k in keys if k.activates_at <= now]
    return max(active, key=lambda k: (k.activates_at, k.kid), default=None)


def rotation_due(keys: Sequence[KeySlot], now: datetime, period: timedelta) -> bool:
    """No key at all, or the newest one is older than the rotation period."""
    newest = max(keys, key=lambda k: k.created_at, default=None)
    return newest is None or newest.created_at + period <= now


def expired_keys(keys: Sequence[KeySlot], now: datetime, keep: timedelta) -> list[str]:
    """Kids of keys that have been superseded for longer than ``keep`` (token lifetime
    plus leeway): no token they signed can still be valid."""
    ordered = sorted(keys, key=lambda k: (k.activates_at, k.kid))
    gone = []
    for key, successor in itertools.pairwise(ordered):
        if successor.activates_at + keep <= now:
            gone.append(key.kid)
    return gone
