"""Webhook signatures: HMAC-SHA256 of the timestamp and the body under a supplier's secret.

The header is ``X-Printcloud-Signature: t=<unix seconds>,v1=<hex digest>`` where the
digest is ``HMAC-SHA256(secret, "<t>." + body)``. Binding the timestamp lets the
receiver refuse old replays; the same scheme authenticates the supplier's calls back.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Printcloud-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(header: str, secret: str, body: bytes, *, now: float, tolerance_s: float) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance_s`` of ``now``."""
    parts = dict(p.strip().partition("=")[::2] for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body).rpartition("v1=")[2]
    return hmac.compare_digest(given.encode(), expected.encode())
