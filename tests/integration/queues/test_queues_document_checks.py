"""Documents are what they say they are: the server checks each upload's format from its
content and counts its pages; empty, truncated, mislabelled and undecodable uploads are
refused and change nothing; a declared Content-Encoding is decoded or refused; a tenant
holds only so many bytes of documents."""

from __future__ import annotations

import gzip
import json
import os
import uuid
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shared.testing.documents import pdf, pwg_raster
from shared.testing.fixtures import ServiceDbFactory
from tests.support.queues import Queues, User, queues_app

pytestmark = pytest.mark.integration

THREE = pdf(3)
REFUSED_CONTENT = [
    pytest.param(b"", "application/pdf", "is empty", id="empty"),
    pytest.param(THREE[: len(THREE) // 2], "application/pdf", "truncated", id="truncated"),
    pytest.param(os.urandom(100_000), "application/pdf", "not a PDF", id="random-as-pdf"),
    pytest.param(
        b"%PDF-1.4\n" + os.urandom(50_000) + b"\n%%EOF\n",
        "application/pdf",
        "not a readable PDF",
        id="pdf-shaped-garbage",
    ),
    pytest.param(THREE, "image/jpeg", "not a JPEG", id="pdf-as-jpeg"),
    pytest.param(pwg_raster(2), "application/pdf", "not a PDF", id="raster-as-pdf"),
    pytest.param(b"\xff\xfe\x00binary", "text/plain", "not plain text", id="binary-as-text"),
    pytest.param(b"RaS2" + b"\x00" * 20, "image/pwg-raster", "truncated", id="short-raster"),
]


def _stored(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp"]


async def _nothing_changed(q: Queues, root: Path) -> None:
    assert _stored(root) == []
    async with q.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM documents") == 0
        assert await conn.fetchval("SELECT count(*) FROM jobs") == 0


def _form(job: dict[str, Any], document: bytes, fmt: str, **part: str) -> aiohttp.FormData:
    data = aiohttp.FormData()
    data.add_field("job", json.dumps(job), content_type="application/json")
    data.add_field("document", document, content_type=fmt, filename="a.pdf", **part)
    return data


async def _post(q: Queues, who: User, data: bytes, fmt: str, **headers: str) -> Any:
    return await q.client.post(
        "/v1/documents", data=data, headers={**who.headers, "Content-Type": fmt, **headers}
    )


@pytest.mark.parametrize(("document", "fmt", "reason"), REFUSED_CONTENT)
async def test_a_document_that_is_not_what_it_says_is_refused_and_nothing_changes(
    q: Queues, tmp_path: Path, document: bytes, fmt: str, reason: str
) -> None:
    ada = await q.user()
    printer = await q.printer()
    resp = await _post(q, ada, document, fmt)
    assert resp.status == 422, await resp.text()
    problem = await resp.json()
    assert problem["code"] == "document-invalid" and reason in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["document"]
    one_shot = await q.client.post(
        "/v1/jobs", headers=ada.headers, data=_form({"printer_id": str(printer)}, document, fmt)
    )
    assert one_shot.status in (415, 422), await one_shot.text()  # jpeg: the printer's 422
    await _nothing_changed(q, tmp_path / "blobs")


async def test_the_server_counts_the_pages_and_types_octet_streams_from_content(
    q: Queues, tmp_path: Path
) -> None:
    ada = await q.user()
    printer = await q.printer()
    stored = await q.upload(ada, THREE)
    assert (stored["format"], stored["pages"]) == ("application/pdf", 3)
    typed = await q.upload(ada, pwg_raster(4), "application/octet-stream")
    assert (typed["format"], typed["pages"]) == ("image/pwg-raster", 4)
    # A declared count that disagrees with the content is refused, never believed.
    wrong = await q.client.post(
        "/v1/documents",
        data=THREE,
        params={"pages": "1"},
        headers={**ada.headers, "Content-Type": "application/pdf"},
    )
    assert wrong.status == 422 and (await wrong.json())["errors"][0]["field"] == "pages"
    job = {"document_id": stored["document_id"], "printer_id": str(printer), "pages": 0}
    lie = await q.client.post("/v1/jobs", json=job, headers=ada.headers)
    assert lie.status == 422 and (await lie.json())["errors"][0]["field"] == "pages"
    del job["pages"]
    done = await q.submit(ada, **job, settings={"copies": 2})
    assert (done["pages"], done["printed_pages"]) == (3, 6)
    for fmt, document in (("application/x-unknown", THREE), ("application/octet-stream", b"?")):
        resp = await _post(q, ada, document, fmt)
        assert resp.status == 415 and (await resp.json())["code"] == "document-format-not-supported"
    async with q.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM documents") == 2


async def test_a_declared_content_encoding_is_decoded_or_refused(q: Queues, tmp_path: Path) -> None:
    ada = await q.user()
    printer = await q.printer()
    for encoding, body in (("gzip", gzip.compress(THREE)), ("deflate", zlib.compress(THREE))):
        resp = await _post(q, ada, body, "application/pdf", **{"Content-Encoding": encoding})
        assert resp.status == 201, await resp.text()
        assert (await resp.json())["size"] == len(THREE)  # the document, not its encoding
    async with q.db() as conn:
        await conn.execute("DELETE FROM idempotency_keys")
        await conn.execute("DELETE FROM documents")
    for path in _stored(tmp_path / "blobs"):
        path.unlink()
    for encoding in ("compress", "gzip, gzip", "x-gzip", "identity, gzip"):
        resp = await _post(
            q, ada, gzip.compress(THREE), "application/pdf", **{"Content-Encoding": encoding}
        )
        assert resp.status == 415, await resp.text()
        problem = await resp.json()
        assert problem["code"] == "content-encoding-not-supported"
        assert problem["errors"][0]["field"] == "Content-Encoding"
    # An encoding the HTTP parser cannot decode (brotli, not installed) it refuses itself.
    brotli = await _post(q, ada, THREE, "application/pdf", **{"Content-Encoding": "br"})
    assert brotli.status in (400, 415), await brotli.text()
    # A body that does not decode (a bad deflate block), or decodes to a cut document.
    bad_block = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 64
    for body in (bad_block, gzip.compress(THREE)[:-200]):
        # (the server closes a connection whose body it could not read: no keep-alive)
        encoded = {"Content-Encoding": "gzip", "Connection": "close"}
        broken = await _post(q, ada, body, "application/pdf", **encoded)
        assert broken.status in (400, 422), await broken.text()
    part = await _encoded_part(q, ada, printer)
    assert part.status == 415, await part.text()
    assert (await part.json())["errors"][0]["field"] == "document.Content-Encoding"
    await _nothing_changed(q, tmp_path / "blobs")


async def _encoded_part(q: Queues, who: User, printer: Any) -> Any:
    """A one-shot submission whose document part says it is gzip-encoded (built by hand:
    aiohttp's writer refuses to encode a form-data part)."""
    boundary = "printcloud-boundary"
    job = json.dumps({"printer_id": str(printer)}).encode()
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="job"\r\n'
        "Content-Type: application/json\r\n\r\n"
    ).encode() + job
    body += (
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="document"; '
        'filename="a.pdf"\r\nContent-Type: application/pdf\r\nContent-Encoding: gzip\r\n\r\n'
    ).encode() + gzip.compress(THREE)
    body += f"\r\n--{boundary}--\r\n".encode()
    content_type = f"multipart/form-data; boundary={boundary}"
    return await q.client.post(
        "/v1/jobs", data=body, headers={**who.headers, "Content-Type": content_type}
    )


async def test_a_tenant_holds_only_its_storage_quota(
    service_db: ServiceDbFactory, bootstrap: str, tmp_path: Path
) -> None:
    first, second = pdf(1, "first"), pdf(1, "second")
    quota = len(first) + len(second) + 10
    root = tmp_path / "blobs"
    async with queues_app(service_db, bootstrap, root, tenant_storage_bytes=quota) as q:
        ada = await q.user()
        await q.upload(ada, first)
        await q.upload(ada, second)
        resp = await _post(q, ada, pdf(1, "third"), "application/pdf")
        assert resp.status == 413, await resp.text()
        problem = await resp.json()
        assert problem["code"] == "storage-quota-exceeded"
        assert problem["storage_quota_bytes"] == quota
        assert len(_stored(root)) == 2  # the refused bytes were not kept
        # Another tenant has its own quota.
        bob = await q.user(tenant=uuid.uuid4())
        await q.upload(bob, pdf(1, "bob"))
        async with q.db() as conn:
            assert await conn.fetchval("SELECT count(*) FROM documents") == 3
