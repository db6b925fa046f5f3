"""Document downloads over real HTTP on loopback: streamed to disk, resumed with Range
after a cut, SHA-256 checked (a corrupt copy is fetched again, twice corrupt fails)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from services.agent.cloud import CloudError
from services.agent.download import DocumentCorrupt, Downloads

DOCUMENT = os.urandom(300_000)
SHA = hashlib.sha256(DOCUMENT).hexdigest()


@dataclass
class Origin:
    """Serves DOCUMENT with Range; can cut a response short or corrupt it."""

    ranges: list[str | None] = field(default_factory=list)
    cut_after: int | None = None  # bytes of the body sent before the connection drops
    corrupt: int = 0  # how many answers carry a flipped byte
    ignore_range: bool = False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        header = request.headers.get("Range")
        self.ranges.append(header)
        start = 0
        if header and not self.ignore_range:
            start = int(header.removeprefix("bytes=").split("-")[0])
            if start >= len(DOCUMENT):
                return web.Response(status=416)
        body = bytearray(DOCUMENT[start:])
        if self.corrupt:
            self.corrupt -= 1
            body[-1] ^= 0xFF
        status = 206 if start else 200
        resp = web.StreamResponse(status=status)
        resp.content_length = len(body)
        if start:
            resp.headers["Content-Range"] = f"bytes {start}-{len(DOCUMENT) - 1}/{len(DOCUMENT)}"
        await resp.prepare(request)
        if self.cut_after is not None:
            cut, self.cut_after = self.cut_after, None
            await resp.write(bytes(body[:cut]))
            await asyncio.sleep(0.5)  # the client reads what came, then the line drops
            assert request.transport is not None
            request.transport.close()
            return resp
        for i in range(0, len(body), 16_384):
            await resp.write(bytes(body[i : i + 16_384]))
        await resp.write_eof()
        return resp


@pytest.fixture
async def origin() -> AsyncIterator[tuple[Origin, str, aiohttp.ClientSession]]:
    state = Origin()
    app = web.Application()
    app.router.add_get("/doc", state.handle)
    async with TestServer(app) as server, aiohttp.ClientSession() as http:
        yield state, str(server.make_url("/doc")), http


def _get(http: aiohttp.ClientSession):  # type: ignore[no-untyped-def]
    def get(url: str, *, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return http.get(url, headers=headers)

    return get


async def test_a_document_is_downloaded_and_verified(
    origin: tuple[Origin, str, aiohttp.ClientSession], tmp_path: Path
) -> None:
    state, url, http = origin
    downloads = Downloads(tmp_path / "downloads")
    job = uuid.uuid4()
    path = await downloads.fetch(_get(http), url, job, SHA, len(DOCUMENT))
    assert path == downloads.complete(job)
    assert path.read_bytes() == DOCUMENT
    assert not downloads.partial(job).exists()
    assert state.ranges == [None]
    # Already there: not fetched again.
    assert await downloads.fetch(_get(http), url, job, SHA, len(DOCUMENT)) == path
    assert state.ranges == [None]


async def test_a_cut_download_resumes_from_the_bytes_on_disk(
    origin: tuple[Origin, str, aiohttp.ClientSession], tmp_path: Path
) -> None:
    state, url, http = origin
    state.cut_after = 100_000
    downloads = Downloads(tmp_path / "downloads")
    job = uuid.uuid4()
    with pytest.raises(CloudError):
        await downloads.fetch(_get(http), url, job, SHA, len(DOCUMENT))
    kept = downloads.partial(job).stat().st_size
    assert 0 < kept <= 100_000
    path = await downloads.fetch(_get(http), url, job, SHA, len(DOCUMENT))
    assert path.read_bytes() == DOCUMENT
    assert state.ranges == [None, f"bytes={kept}-"]


async def test_a_server_ignoring_range_starts_the_file_over(
    origin: tuple[Origin, str, aiohttp.ClientSession], tmp_path: Path
) -> None:
    state, url, http = origin
    state.ignore_range = True
    downloads = Downloads(tmp_path / "downloads")
    job = uuid.uuid4()
    downloads.partial(job).write_bytes(DOCUMENT[:5000])
    path = await downloads.fetch(_get(http), url, job, SHA, len(DOCUMENT))
    assert path.read_bytes() == DOCUMENT
    assert state.ranges == ["bytes=5000-"]


async def test_a_corrupt_copy_is_fetched_again_and_twice_corrupt_fails(
    origin: tuple[Origin, str, aiohttp.ClientSession], tmp_path: Path
) -> None:
    state, url, http = origin
    downloads = Downloads(tmp_path / "downloads")
    state.corrupt = 1
    job = uuid.uuid4()
    path = await downloads.fetch(_get(http), url, job, SHA, len(DOCUMENT))
    assert path.read_bytes() == DOCUMENT
    assert state.ranges == [None, None]

    state.corrupt = 2
    other = uuid.uuid4()
    with pytest.raises(DocumentCorrupt):
        await downloads.fetch(_get(http), url, other, SHA, len(DOCUMENT))
    assert not downloads.partial(other).exists()
    assert not downloads.complete(other).exists()


async def test_a_partial_file_of_a_wrong_document_is_caught(
    origin: tuple[Origin, str, aiohttp.ClientSession], tmp_path: Path
) -> None:
    state, url, http = origin
    downloads = Downloads(tmp_path / "downloads")
    job = uuid.uuid4()
    downloads.partial(job).write_bytes(b"x" * 1000)  # left by something else
    path = await downloads.fetch(_get(http), url, job, SHA, len(DOCUMENT))
    assert path.read_bytes() == DOCUMENT
    assert state.ranges == ["bytes=1000-", None]


async def test_a_refusal_names_the_problem(tmp_path: Path) -> None:
    async def refuse(_: web.Request) -> web.Response:
        return web.json_response(
            {"type": "https://printcloud.dev/problems/release-required", "title": "Release",
             "status": 403, "detail": "the owner has not logged in at the printer"},
            status=403, content_type="application/problem+json",
        )  # fmt: skip

    app = web.Application()
    app.router.add_get("/doc", refuse)
    async with TestServer(app) as server, aiohttp.ClientSession() as http:
        with pytest.raises(CloudError) as caught:
            await Downloads(tmp_path).fetch(
                _get(http), str(server.make_url("/doc")), uuid.uuid4(), SHA, len(DOCUMENT)
            )
    assert (caught.value.status, caught.value.problem) == (403, "release-required")
