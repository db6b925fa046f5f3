"""base64url (RFC 4648 section 5) without padding, as JOSE and Printcloud use it."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

_URLSAFE = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")
_STANDARD = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def b64url_encode(data: bytes) -> str:
    """Unpadded base64url text of ``data``."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Bytes of base64url text (padding optional); ValueError for anything else."""
    if not _URLSAFE.fullmatch(text):
        raise ValueError("not base64url text")
    return _decode(text, base64.urlsafe_b64decode)


def b64_decode_any(text: str) -> bytes:
    """Bytes of base64url or standard base64 text (e.g. from ``openssl rand -base64``)."""
    text = text.strip()
    if _URLSAFE.fullmatch(text):
        return _decode(text, base64.urlsafe_b64decode)
    if _STANDARD.fullmatch(text):
        return _decode(text, base64.standard_b64decode)
    raise ValueError("not base64 text")


def _decode(text: str, decode: Callable[[str], bytes]) -> bytes:
    body = text.rstrip("=")
    if len(body) % 4 == 1:
        raise ValueError("base64 text has an impossible length")
    try:
        return decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64 text") from None
