"""Idempotent submission: a retry with the same Idempotency-Key answers the first
request's job or document and creates nothing (no second job, no second job.submitted);
a key reused for another request is refused; concurrent retries create one job; keys are
per caller and forgotten after their time."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shared.testing.fixtures import ServiceDbFactory
from tests.support.kafka import envelopes
from tests.support.queues import (
    PDF,
    Queues,
    User,
    about,
    queues_app,
)

pytestmark = pytest.mark.integration


async def _post_job(
    q: Queues, who: User, key: str | None, **body: Any
) -> tuple[int, dict[str, Any], str | None]:
    headers = dict(who.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    resp = await q.client.post("/v1/jobs", json=body, headers=headers)
    return resp.status, await resp.json(content_type=None), resp.headers.get("Idempotent-Replayed")


async def _jobs_of(q: Queues, who: User) -> list[uuid.UUID]:
    async with q.db() as conn:
        rows = await conn.fetch("SELECT id FROM jobs WHERE owner_id = $1", who.id)
    return [r["id"] for r in rows]


async def test_a_retry_with_the_same_key_answers_the_first_job_and_submits_nothing(
    q: Queues,
) -> None:
    ada = await q.user()
    printer = await q.printer()
    doc = await q.upload(ada)
    key = str(uuid.uuid4())
    body = {"document_id": doc["document_id"], "printer_id": str(printer)}

    status, first, replayed = await _post_job(q, ada, key, **body)
    assert status == 201 and replayed is None, first
    status, again, replayed = await _post_job(q, ada, key, **dict(reversed(body.items())))
    assert status == 201 and replayed == "true", again
    assert again["id"] == first["id"] and again["document_id"] == first["document_id"]
    assert await _jobs_of(q, ada) == [uuid.UUID(first["id"])]
    submitted = await envelopes(
        q.bootstrap, "queues.jobs", about(first["id"], "job.submitted"), count=1, settle_s=3
    )
    assert len(submitted) == 1

    # The same key for another request: refused, nothing created.
    other = await q.upload(ada, data=PDF + b"% another\n")
    status, refused, _ = await _post_job(
        q, ada, key, document_id=other["document_id"], printer_id=str(printer)
    )
    assert status == 422 and refused["code"] == "idempotency-key-reused", refused
    assert [e["field"] for e in refused["errors"]] == ["Idempotency-Key"]
    assert await _jobs_of(q, ada) == [uuid.UUID(first["id"])]

    # Without a key, every request is a new job.
    status, plain, _ = await _post_job(q, ada, None, **body)
    assert status == 201 and plain["id"] != first["id"]


async def test_concurrent_submissions_with_one_key_create_one_job(q: Queues) -> None:
    ada = await q.user()
    printer = await q.printer()
    doc = await q.upload(ada)
    key = "retry-" + uuid.uuid4().hex
    answers = await asyncio.gather(
        *(
            _post_job(q, ada, key, document_id=doc["document_id"], printer_id=str(printer))
            for _ in range(6)
        )
    )
    assert {status for status, _, _ in answers} == {201}, answers
    assert len({body["id"] for _, body, _ in answers}) == 1
    assert sorted(str(r) for _, _, r in answers) == ["None"] + ["true"] * 5
    assert len(await _jobs_of(q, ada)) == 1


async def test_a_malformed_key_is_refused_naming_the_header(q: Queues) -> None:
    ada = await q.user()
    printer = await q.printer()
    doc = await q.upload(ada)
    for bad in ("", "two words", "x" * 256, "caf\u00e9"):
        resp = await q.client.post(
            "/v1/jobs",
            json={"document_id": doc["document_id"], "printer_id": str(printer)},
            headers={**ada.headers, "Idempotency-Key": bad},
        )
        problem = await resp.json(content_type=None)
        assert resp.status == 400, (bad, problem)
        assert problem["code"] == "invalid-idempotency-key"
        assert [e["field"] for e in problem["errors"]] == ["Idempotency-Key"]
        resp = await q.client.post(
            "/v1/documents",
            data=PDF,
            headers={**ada.headers, "Content-Type": "application/pdf", "Idempotency-Key": bad},
        )
        assert resp.status == 400, bad
    assert await _jobs_of(q, ada) == []
    async with q.db() as conn:
        assert (
            await conn.fetchval("SELECT count(*) FROM documents WHERE owner_id = $1", ada.id) == 1
        )


async def test_keys_are_per_caller(q: Queues) -> None:
    ada, bob = await q.user(), await q.user(name="Bob")
    printer = await q.printer()
    key = "shared-" + uuid.uuid4().hex
    ada_doc, bob_doc = await q.upload(ada), await q.upload(bob)
    status, ada_job, _ = await _post_job(
        q, ada, key, document_id=ada_doc["document_id"], printer_id=str(printer)
    )
    assert status == 201
    status, bob_job, replayed = await _post_job(
        q, bob, key, document_id=bob_doc["document_id"], printer_id=str(printer)
    )
    assert status == 201 and replayed is None, bob_job
    assert bob_job["id"] != ada_job["id"] and bob_job["owner_id"] == str(bob.id)
    assert await _jobs_of(q, bob) == [uuid.UUID(bob_job["id"])]


async def test_uploads_and_one_shot_submissions_are_idempotent(q: Queues) -> None:
    ada = await q.user()
    printer = await q.printer()
    upload_key, submit_key = uuid.uuid4().hex, uuid.uuid4().hex

    async def upload(data: bytes) -> aiohttp.ClientResponse:
        return await q.client.post(
            "/v1/documents",
            data=data,
            params={"title": "Minutes"},
            headers={
                **ada.headers,
                "Content-Type": "application/pdf",
                "Idempotency-Key": upload_key,
            },
        )

    first, again = await upload(PDF), await upload(PDF)
    assert (first.status, again.status) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert (await again.json())["document_id"] == (await first.json())["document_id"]
    changed = await upload(PDF + b"% changed\n")
    assert changed.status == 422
    assert (await changed.json())["code"] == "idempotency-key-reused"

    def form(document: bytes) -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("job", f'{{"printer_id": "{printer}"}}', content_type="application/json")
        data.add_field("document", document, content_type="application/pdf", filename="a.pdf")
        return data

    async def one_shot(document: bytes) -> aiohttp.ClientResponse:
        return await q.client.post(
            "/v1/jobs", data=form(document), headers={**ada.headers, "Idempotency-Key": submit_key}
        )

    answers = await asyncio.gather(one_shot(PDF), one_shot(PDF), one_shot(PDF))
    assert [a.status for a in answers] == [201] * 3
    assert len({(await a.json())["id"] for a in answers}) == 1
    assert sorted(str(a.headers.get("Idempotent-Replayed")) for a in answers) == [
        "None",
        "true",
        "true",
    ]
    refused = await one_shot(PDF + b"% other\n")
    assert refused.status == 422 and (await refused.json())["code"] == "idempotency-key-reused"
    assert len(await _jobs_of(q, ada)) == 1
    async with q.db() as conn:
        # The upload's document and the one-shot's: nothing from the retries.
        assert (
            await conn.fetchval("SELECT count(*) FROM documents WHERE owner_id = $1", ada.id) == 2
        )


async def test_keys_are_forgotten_after_their_time(
    service_db: ServiceDbFactory, bootstrap: str, topics: object, tmp_path: Path
) -> None:
    async with queues_app(service_db, bootstrap, tmp_path / "blobs", idempotency_key_ttl_s=1) as q:
        ada = await q.user()
        printer = await q.printer()
        doc = await q.upload(ada)
        body = {"document_id": doc["document_id"], "printer_id": str(printer)}
        status, first, _ = await _post_job(q, ada, "nightly-report", **body)
        assert status == 201
        await q.until(
            "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE owner_id = $1)",
            ada.id,
        )
        status, later, replayed = await _post_job(q, ada, "nightly-report", **body)
        assert status == 201 and replayed is None and later["id"] != first["id"]
