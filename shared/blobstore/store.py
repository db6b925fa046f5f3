"""The blob store protocol, its errors and HTTP byte ranges."""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from shared.errors import DomainError, FieldError

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class BlobRef:
    """A stored blob: its sha256 (hex, the address) and its size in bytes."""

    sha256: str
    size: int


@dataclass
class BlobTooLarge(DomainError):
    """The stream passed the size limit; nothing was kept."""

    code: str = "payload-too-large"
    status: int = 413
    title: str = "Payload too large"


@dataclass
class DigestMismatch(DomainError):
    """The bytes received do not have the sha256 the client announced; nothing was kept."""

    code: str = "digest-mismatch"
    status: int = 422
    title: str = "Digest mismatch"
    errors: list[FieldError] = field(
        default_factory=lambda: [FieldError("sha256", "does not match the bytes received")]
    )


@dataclass
class RangeNotSatisfiable(DomainError):
    """A Range header that selects nothing of the blob."""

    code: str = "range-not-satisfiable"
    status: int = 416
    title: str = "Range not satisfiable"


@dataclass
class BlobMissing(DomainError):
    """The blob is not (or no longer) in the store."""

    code: str = "document-gone"
    status: int = 410
    title: str = "Gone"


class BlobStore(Protocol):
    """Where documents' bytes live, addressed by their sha256."""

    async def put_stream(
        self,
        chunks: AsyncIterable[bytes],
        max_size: int,
        expected_sha256: str | None = None,
        check: Callable[[BinaryIO], None] | None = None,
    ) -> BlobRef:
        """Store a stream; BlobTooLarge past ``max_size``, DigestMismatch when the bytes
        differ from ``expected_sha256``; ``check`` reads the complete bytes (a seekable
        file, in a worker thread) before they are kept and refuses them by raising.
        Nothing is kept on any refusal. Storing the same bytes twice keeps one blob."""
        ...

    def open_range(
        self, sha256: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """The blob's bytes ``start``..``end`` (inclusive; None: to the end)."""
        ...

    async def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        ...

    async def size(self, sha256: str) -> int | None:
        """The blob's size, None when it is not stored."""
        ...

    async def delete(self, sha256: str) -> bool:
        """Remove the blob; False when it was not there."""
        ...


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte selected by a single-range ``Range`` header
    (RFC 9110 §14.1.2), None for no header (or one this server ignores: several
    ranges or another unit); RangeNotSatisfiable when it selects nothing."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        return None
    if not first_text:  # a suffix: the last N bytes
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(f"the document has {size} bytes")
        return max(0, size - suffix), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # syntactically invalid: ignored, the whole document is sent
    if first >= size:
        raise RangeNotSatisfiable(f"the document has {size} bytes")
    last = int(last_text) if last_text else size - 1
    return first, min(last, size - 1)
