"""Webhook and callback signatures: HMAC-SHA256 under a supplier's secret.

Orders sent to a supplier carry ``X-Printcloud-Signature: t=<unix seconds>,v1=<hex>``
where the digest is ``HMAC-SHA256(secret, "<t>." + body)``; the body names the order.

A supplier's callback signs the whole request, so that a signature made for one order
or one step cannot be moved to another, and each callback only once:
``X-Printcloud-Signature: t=<unix seconds>,n=<nonce>,v2=<hex>`` where the digest is
``HMAC-SHA256(secret, "v2\\n<t>\\n<nonce>\\n<METHOD>\\n<path>\\n" + body)``. The path
names the order and the step (``/v1/supply-orders/<id>/shipped``). The receiver refuses a
timestamp outside its window and a nonce it has already seen within that window.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

SIGNATURE_HEADER = "X-Printcloud-Signature"
NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
"""A callback's nonce: 16 to 64 URL-safe characters, fresh for each callback."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value of an order webhook: ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(header: str, secret: str, body: bytes, *, now: float, tolerance_s: float) -> bool:
    """Whether a webhook ``header`` signs ``body`` with ``secret`` within ``tolerance_s``."""
    parts = _parts(header)
    try:
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, timestamp, body).rpartition("v1=")[2]
    return hmac.compare_digest(given.encode(), expected.encode())


def callback_message(timestamp: int, nonce: str, method: str, path: str, body: bytes) -> bytes:
    """What a callback's signature covers: version, time, nonce, method, path and body."""
    return f"v2\n{timestamp}\n{nonce}\n{method.upper()}\n{path}\n".encode() + body


def callback_signature(
    secret: str, timestamp: int, nonce: str, method: str, path: str, body: bytes
) -> str:
    """The header value a supplier sends with a callback."""
    message = callback_message(timestamp, nonce, method, path, body)
    mac = hmac.new(secret.encode(), message, hashlib.sha256)
    return f"t={timestamp},n={nonce},v2={mac.hexdigest()}"


@dataclass(frozen=True)
class SignedCallback:
    """A callback whose signature verified: its nonce, to be recorded once."""

    timestamp: int
    nonce: str


def verify_callback(
    header: str,
    secret: str,
    *,
    method: str,
    path: str,
    body: bytes,
    now: float,
    tolerance_s: float,
) -> SignedCallback | None:
    """The verified callback, or None: a bad or missing part, another secret, request or
    body, or a timestamp further than ``tolerance_s`` from ``now``. Whether the nonce was
    seen before is the caller's to check (it needs the store)."""
    parts = _parts(header)
    try:
        timestamp, nonce, given = int(parts["t"]), parts["n"], parts["v2"]
    except (KeyError, ValueError):
        return None
    if not NONCE_PATTERN.fullmatch(nonce) or abs(now - timestamp) > tolerance_s:
        return None
    expected = callback_signature(secret, timestamp, nonce, method, path, body)
    if not hmac.compare_digest(given.encode(), expected.rpartition("v2=")[2].encode()):
        return None
    return SignedCallback(timestamp, nonce)


def _parts(header: str) -> dict[str, str]:
    return dict(p.strip().partition("=")[::2] for p in header.split(",") if "=" in p)
