"""A blob store on a filesystem directory: ``root/ab/cd/<sha256>``.

An upload streams into a temporary file under ``root/tmp`` while it is hashed
and counted; only a complete, verified (and, when asked, content-checked) upload
is renamed into place (an atomic
rename on the same filesystem), so a reader never sees a partial blob and a
refused upload leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO

from shared.blobstore.store import (
    SHA256_HEX,
    BlobMissing,
    BlobRef,
    BlobTooLarge,
    DigestMismatch,
)

WRITE_BUFFER = 1 << 20
"""Bytes gathered before one write (and hash update) off the event loop."""
READ_CHUNK = 256 << 10


class FilesystemBlobStore:
    """Blobs as files under ``root``, named by their sha256."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._tmp = self.root / "tmp"

    def path_of(self, sha256: str) -> Path:
        """Where the blob ``sha256`` lives."""
        if not SHA256_HEX.match(sha256):
            raise ValueError("not a sha256")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put_stream(
        self,
        chunks: AsyncIterable[bytes],
        max_size: int,
        expected_sha256: str | None = None,
        check: Callable[[BinaryIO], None] | None = None,
    ) -> BlobRef:
        """Stream into a temporary file, then rename it to its address (see the protocol)."""
        await asyncio.to_thread(self._tmp.mkdir, parents=True, exist_ok=True)
        tmp = self._tmp / f"upload-{secrets.token_hex(8)}"
        digest = hashlib.sha256()
        size = 0
        kept = False
        handle = await asyncio.to_thread(open, tmp, "wb")
        try:
            pending: list[bytes] = []
            pending_size = 0
            async for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise BlobTooLarge(f"the document is larger than {max_size} bytes")
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= WRITE_BUFFER:
                    await asyncio.to_thread(_write, handle, digest, pending)
                    pending, pending_size = [], 0
            await asyncio.to_thread(_write, handle, digest, pending)
            await asyncio.to_thread(_finish, handle)
            sha256 = digest.hexdigest()
            if expected_sha256 is not None and expected_sha256 != sha256:
                raise DigestMismatch(f"the bytes received have sha256 {sha256}")
            if check is not None:
                await asyncio.to_thread(_check, tmp, check)
            target = self.path_of(sha256)
            await asyncio.to_thread(_place, tmp, target)
            kept = True
            return BlobRef(sha256=sha256, size=size)
        finally:
            with contextlib.suppress(OSError):
                handle.close()
            if not kept:
                with contextlib.suppress(FileNotFoundError):
                    await asyncio.to_thread(tmp.unlink)

    async def open_range(
        self, sha256: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """Read the blob from ``start`` to ``end`` (inclusive) in chunks."""
        try:
            handle = await asyncio.to_thread(open, self.path_of(sha256), "rb")
        except FileNotFoundError:
            raise BlobMissing("the document's content is no longer stored") from None
        try:
            await asyncio.to_thread(handle.seek, start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                want = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                data = await asyncio.to_thread(handle.read, want)
                if not data:
                    break
                if remaining is not None:
                    remaining -= len(data)
                yield data
        finally:
            handle.close()

    async def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        return await asyncio.to_thread(self.path_of(sha256).is_file)

    async def size(self, sha256: str) -> int | None:
        """The blob's size in bytes, None when it is not stored."""
        try:
            return (await asyncio.to_thread(self.path_of(sha256).stat)).st_size
        except FileNotFoundError:
            return None

    async def delete(self, sha256: str) -> bool:
        """Remove the blob's file."""
        try:
            await asyncio.to_thread(self.path_of(sha256).unlink)
        except FileNotFoundError:
            return False
        return True


def _write(handle: BinaryIO, digest: hashlib._Hash, pending: list[bytes]) -> None:
    for chunk in pending:
        digest.update(chunk)
        handle.write(chunk)


def _finish(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()


def _check(tmp: Path, check: Callable[[BinaryIO], None]) -> None:
    with open(tmp, "rb") as handle:
        check(handle)


def _place(tmp: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Same bytes, same name: replacing an existing blob changes nothing.
    os.replace(tmp, target)
