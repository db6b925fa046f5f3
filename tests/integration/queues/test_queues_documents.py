"""Documents: streamed into the blob store in bounded memory, digest-checked, size-limited;
one-shot multipart submission; held jobs expire and finished jobs' documents go."""

from __future__ import annotations

import base64
import hashlib
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from shared.testing.documents import pdf, pdf_chunks
from shared.testing.fixtures import ServiceDbFactory
from tests.support.kafka import envelopes
from tests.support.queues import (
    PDF,
    Queues,
    about,
    queues_app,
)

pytestmark = pytest.mark.integration
MiB = 1 << 20


def _stored(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def test_a_200_mib_upload_streams_through_in_bounded_memory(
    q: Queues, tmp_path: Path
) -> None:
    ada = await q.user()
    total = 200

    def chunks() -> Iterator[bytes]:  # a real 3-page PDF, padded to 200 MiB
        return pdf_chunks(3, padding=total * MiB - len(pdf(3)) - 40)

    expected = hashlib.sha256()
    size = 0
    for chunk in chunks():
        expected.update(chunk)
        size += len(chunk)

    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks():
            yield chunk

    tracemalloc.start()
    try:
        resp = await q.client.post(
            "/v1/documents",
            data=body(),
            params={"title": "big"},
            headers={
                **ada.headers,
                "Content-Type": "application/octet-stream",
                "X-Content-SHA256": expected.hexdigest(),
            },
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert resp.status == 201, await resp.text()
    doc = await resp.json()
    assert (doc["size"], doc["sha256"]) == (size, expected.hexdigest())
    # Typed and counted from the content, not from the declared octet-stream.
    assert (doc["format"], doc["pages"]) == ("application/pdf", 3)
    # Client and server together never held more than a few MiB of the 200.
    assert peak < 48 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"
    [blob] = _stored(tmp_path / "blobs")
    assert blob.name == expected.hexdigest() and blob.stat().st_size == size
    assert blob.parent.name == blob.name[2:4] and blob.parent.parent.name == blob.name[:2]


async def test_a_digest_mismatch_or_an_oversized_document_keeps_nothing(
    q: Queues, service_db: ServiceDbFactory, bootstrap: str, tmp_path: Path
) -> None:
    ada = await q.user()
    wrong = hashlib.sha256(b"something else").digest()
    for headers in (
        {"Digest": "sha-256=" + base64.b64encode(wrong).decode()},
        {"X-Content-SHA256": wrong.hex()},
    ):
        resp = await q.client.post(
            "/v1/documents",
            data=PDF,
            headers={**ada.headers, **headers, "Content-Type": "application/pdf"},
        )
        assert resp.status == 422, await resp.text()
        problem = await resp.json()
        assert problem["code"] == "digest-mismatch" and problem["errors"][0]["field"] == "sha256"
    bad = await q.client.post(
        "/v1/documents",
        data=PDF,
        headers={**ada.headers, "X-Content-SHA256": "xyz", "Content-Type": "application/pdf"},
    )
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "X-Content-SHA256"
    assert _stored(tmp_path / "blobs") == []
    async with q.db() as conn:
        assert await conn.fetchval("SELECT count(*) FROM documents") == 0
    right = base64.b64encode(hashlib.sha256(PDF).digest()).decode()
    ok = await q.client.post(
        "/v1/documents",
        data=PDF,
        headers={**ada.headers, "Digest": f"sha-256={right}", "Content-Type": "application/pdf"},
    )
    assert ok.status == 201

    async with queues_app(
        service_db, bootstrap, tmp_path / "small", max_document_bytes=64 * 1024
    ) as small:
        bob = await small.user()
        resp = await small.client.post(
            "/v1/documents",
            data=b"x" * (MiB),
            headers={**bob.headers, "Content-Type": "application/octet-stream"},
        )
        assert resp.status == 413 and (await resp.json())["code"] == "payload-too-large"
        assert _stored(tmp_path / "small") == []


async def test_a_one_shot_multipart_submission_is_checked_before_storing(
    q: Queues, tmp_path: Path
) -> None:
    ada = await q.user()
    printer = await q.printer()

    def form(job: str, document: bytes, fmt: str) -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("job", job, content_type="application/json")
        data.add_field("document", document, content_type=fmt, filename="report.pdf")
        return data

    refused = await q.client.post(
        "/v1/jobs",
        headers=ada.headers,
        data=form(
            f'{{"printer_id": "{printer}", "settings": {{"media": "iso_a0_841x1189mm"}}}}',
            PDF,
            "application/pdf",
        ),
    )
    assert (
        refused.status == 422
        and (await refused.json())["invalid_settings"][0]["setting"] == "media"
    )
    assert _stored(tmp_path / "blobs") == []
    resp = await q.client.post(
        "/v1/jobs",
        headers=ada.headers,
        data=form(
            f'{{"printer_id": "{printer}", "settings": {{"copies": 3}}}}', PDF, "application/pdf"
        ),
    )
    assert resp.status == 201, await resp.text()
    job = await resp.json()
    assert (job["title"], job["pages"], job["printed_pages"]) == ("report.pdf", 2, 6)
    [submitted] = await envelopes(
        q.bootstrap, "queues.jobs", about(job["id"], "job.submitted"), count=1
    )
    assert submitted["data"]["document_sha256"] == hashlib.sha256(PDF).hexdigest()


async def test_held_jobs_expire_and_finished_jobs_documents_are_deleted(
    service_db: ServiceDbFactory, bootstrap: str, topics: object, tmp_path: Path
) -> None:
    root = tmp_path / "blobs"
    async with queues_app(
        service_db, bootstrap, root, held_job_ttl_s=1, document_retention_s=2
    ) as q:
        ada = await q.user()
        printer = await q.printer()
        held = await q.submit(ada, printer_id=str(printer))
        await q.route(held["id"], 1, "hold", reason="printer_offline")
        await q.state(held["id"], "expired")
        [expired] = await envelopes(
            q.bootstrap, "queues.jobs", about(held["id"], "job.expired"), count=1
        )
        assert expired["data"]["previous_state"] == "held"
        # The same bytes in a document of a job still queued: the blob stays for it.
        still = await q.queued_job(ada, printer)
        deleted = await envelopes(
            q.bootstrap,
            "queues.documents",
            lambda e: e["data"]["document_id"] == held["document_id"],
            count=1,
        )
        assert deleted[0]["data"]["reason"] == "retention"
        sha = deleted[0]["data"]["sha256"]
        assert [p.name for p in _stored(root)] == [sha]
        download = await q.client.get(
            f"/v1/devices/me/jobs/{still['id']}/document", headers=q.device(printer)
        )
        assert download.status == 200 and await download.read() == PDF
        resp = await q.client.post(f"/v1/jobs/{still['id']}/cancel", headers=ada.headers)
        assert resp.status == 200
        await envelopes(
            q.bootstrap,
            "queues.documents",
            lambda e: e["data"]["document_id"] == still["document_id"],
            count=1,
        )
        assert _stored(root) == []
        async with q.db() as conn:
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM documents "
                    "WHERE deleted_at IS NULL AND id = ANY($1::uuid[])",
                    [uuid.UUID(held["document_id"]), uuid.UUID(still["document_id"])],
                )
                == 0
            )
