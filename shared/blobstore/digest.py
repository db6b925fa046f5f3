"""The sha256 a client announces for an upload, from the request's headers or query."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from shared.blobstore.store import SHA256_HEX
from shared.errors import FieldError, ValidationFailed


def _from_digest_header(value: str) -> str | None:
    """``Digest: sha-256=<base64>`` (RFC 3230); other algorithms are ignored."""
    for item in value.split(","):
        name, _, encoded = item.strip().partition("=")
        if name.strip().lower() != "sha-256":
            continue
        try:
            raw = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValidationFailed(
                "the Digest header is not valid",
                [FieldError("Digest", "sha-256 must be the base64 of 32 bytes")],
            )
        return raw.hex()
    return None


def announced_sha256(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The sha256 (hex) the client says its upload has, from ``Digest: sha-256=<base64>``,
    ``X-Content-SHA256: <hex>`` or ``?sha256=<hex>``; None when it says nothing."""
    found: list[tuple[str, str]] = []
    if "Digest" in headers:
        digest = _from_digest_header(headers["Digest"])
        if digest:
            found.append(("Digest", digest))
    for name, value in (
        ("X-Content-SHA256", headers.get("X-Content-SHA256")),
        ("sha256", query.get("sha256")),
    ):
        if value is None:
            continue
        value = value.strip().lower()
        if not SHA256_HEX.match(value):
            raise ValidationFailed(
                f"{name} is not valid", [FieldError(name, "64 hexadecimal digits expected")]
            )
        found.append((name, value))
    if len({v for _, v in found}) > 1:
        raise ValidationFailed(
            "the announced digests disagree",
            [FieldError(name, "differs from another announced digest") for name, _ in found],
        )
    return found[0][1] if found else None
