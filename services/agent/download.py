"""Downloading a job's document: streamed to disk, resumed with HTTP Range, sha256 checked.

The document is written to ``downloads/<job_id>.part`` in the state directory as it
arrives (never held whole in memory). A download cut short is resumed from the
bytes already on disk (``Range: bytes=N-``); a server that answers the whole
document instead (200) starts the file over. Once ``size`` bytes are there, their
SHA-256 must be the one the cloud announced, else the file is deleted and the
document is fetched once more from the start; the verified file is renamed
``downloads/<job_id>.doc``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import IO

import aiohttp

from services.agent.cloud import CloudError, read_json, refusal
from services.agent.state import fsync_dir
from shared.logging import get_logger

log = get_logger(__name__)
CHUNK = 64 * 1024
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
Get = Callable[..., AbstractAsyncContextManager[aiohttp.ClientResponse]]


class DocumentCorrupt(CloudError):
    """The document did not match its announced size or SHA-256, twice."""


class Downloads:
    """The state directory's ``downloads/`` folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def partial(self, job_id: uuid.UUID) -> Path:
        """Where a download in progress is kept."""
        return self.root / f"{job_id}.part"

    def complete(self, job_id: uuid.UUID) -> Path:
        """Where the verified document is kept until it is printed."""
        return self.root / f"{job_id}.doc"

    def opened(self, job_id: uuid.UUID) -> Path:
        """Where a protected document is kept decrypted until it is printed."""
        return self.root / f"{job_id}.open"

    def forget(self, job_id: uuid.UUID) -> None:
        """Delete what is kept for a job (printed, failed, canceled)."""
        self.partial(job_id).unlink(missing_ok=True)
        self.complete(job_id).unlink(missing_ok=True)
        self.opened(job_id).unlink(missing_ok=True)

    def kept(self) -> list[uuid.UUID]:
        """The jobs something is kept for."""
        found = set()
        for path in self.root.iterdir():
            try:
                found.add(uuid.UUID(path.stem))
            except ValueError:
                continue
        return sorted(found)

    async def fetch(self, get: Get, url: str, job_id: uuid.UUID, sha256: str, size: int) -> Path:
        """The verified document (already there, resumed, or downloaded)."""
        done = self.complete(job_id)
        if done.exists():
            return done
        if size <= 0:
            raise DocumentCorrupt(f"the document of job {job_id} is empty: nothing to print")
        for attempt in (1, 2):
            await _download(get, url, self.partial(job_id), size)
            digest = await asyncio.to_thread(_sha256, self.partial(job_id))
            if digest == sha256:
                await asyncio.to_thread(_publish, self.partial(job_id), done)
                return done
            log.warning(
                "document checksum mismatch", job_id=str(job_id), attempt=attempt,
                expected=sha256, got=digest,
            )  # fmt: skip
            self.partial(job_id).unlink(missing_ok=True)
        raise DocumentCorrupt(f"the document of job {job_id} does not match its sha256")


def _have(part: Path, size: int) -> int:
    """Bytes already downloaded (a file longer than the document is started over)."""
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        return 0
    return have


async def _download(get: Get, url: str, part: Path, size: int) -> None:
    """Bring ``part`` to ``size`` bytes from ``url``, resuming what is there."""
    have = await asyncio.to_thread(_have, part, size)
    if have == size:
        return
    headers = {"Range": f"bytes={have}-"} if have else {}
    async with get(url, headers=headers) as resp:
        if resp.status == 416 and have:
            # The server says there is nothing after ``have``: start over.
            await asyncio.to_thread(part.unlink)
            return await _download(get, url, part, size)
        if resp.status == 206:
            start = _range_start(resp.headers.get("Content-Range", ""))
            if start != have:
                raise CloudError(f"asked for bytes from {have}, got from {start}", resp.status)
            mode = "ab"
        elif resp.status == 200:
            have, mode = 0, "wb"
        else:
            raise await _refused(resp)
        await asyncio.to_thread(part.parent.mkdir, 0o700, True, True)
        fh = await asyncio.to_thread(_open, part, mode)
        try:
            async for chunk in _body(resp):
                have += len(chunk)
                if have > size:
                    raise CloudError(f"the document is larger than its announced {size} bytes")
                await asyncio.to_thread(fh.write, chunk)
            await asyncio.to_thread(_sync, fh)
        finally:
            await asyncio.to_thread(fh.close)
    if have < size:
        raise CloudError(f"the download stopped at {have} of {size} bytes")
    return None


async def _body(resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in resp.content.iter_chunked(CHUNK):
            yield chunk
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise CloudError(f"the download was cut: {exc or type(exc).__name__}") from exc


async def _refused(resp: aiohttp.ClientResponse) -> CloudError:
    return refusal("document download", resp.status, await read_json(resp))


def _range_start(header: str) -> int:
    match = _CONTENT_RANGE.match(header.strip())
    return int(match.group(1)) if match else -1


def _open(path: Path, mode: str) -> IO[bytes]:
    fd = os.open(
        path, os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "ab" else os.O_TRUNC), 0o600
    )
    return os.fdopen(fd, mode)


def _sync(fh: IO[bytes]) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _publish(part: Path, done: Path) -> None:
    os.replace(part, done)
    fsync_dir(done.parent)
