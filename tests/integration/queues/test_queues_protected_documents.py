"""Protected documents (application/vnd.printcloud.e2e) at the queues: taken by their
structure with the pages their sender declares, stored as the ciphertext they are,
and printed only at the one printer they are encrypted to."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest

from shared.crypto.e2e import E2E_FORMAT, TAG, EphemeralKey, encrypt, read_framing
from shared.testing.documents import pdf
from tests.support.queues import Queues

pytestmark = pytest.mark.integration


def _sealed(printer: uuid.UUID, plain: bytes) -> bytes:
    key = EphemeralKey.generate()
    out = io.BytesIO()
    encrypt(io.BytesIO(plain).read, out.write, key.private.public_key(), printer, key.key_id,
            "application/pdf")  # fmt: skip
    return out.getvalue()


async def test_a_protected_document_is_stored_as_ciphertext_with_its_declared_pages(
    q: Queues, tmp_path: Path
) -> None:
    ada = await q.user()
    printer = await q.printer()
    plain = pdf(2, "a protected payslip")
    sealed = _sealed(printer, plain)
    headers = {**ada.headers, "Content-Type": E2E_FORMAT}

    undeclared = await q.client.post("/v1/documents", data=sealed, headers=headers)
    assert undeclared.status == 422, await undeclared.text()
    assert [e["field"] for e in (await undeclared.json())["errors"]] == ["pages"]
    body = read_framing(io.BytesIO(sealed).read).body_offset
    for bad in (plain, sealed[: body + TAG], sealed[:body], sealed[:40]):
        refused = await q.client.post(
            "/v1/documents", data=bad, params={"pages": "2"}, headers=headers
        )
        assert refused.status == 422, await refused.text()
        assert (await refused.json())["code"] == "document-invalid"

    resp = await q.client.post("/v1/documents", data=sealed, params={"pages": "2"}, headers=headers)
    assert resp.status == 201, await resp.text()
    stored = await resp.json()
    assert (stored["format"], stored["pages"], stored["size"]) == (E2E_FORMAT, 2, len(sealed))
    blobs = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file() and p.parent.name != "tmp"]
    assert [p.read_bytes() for p in blobs] == [sealed]

    # The printer cannot announce the format (its real one is sealed): not checked.
    job = await q.submit(ada, document_id=stored["document_id"], printer_id=str(printer))
    assert job["pages"] == 2
    # A virtual printer could pick any member: a protected document is refused there.
    virtual = await q.virtual_printer([printer, await q.printer()])
    refused = await q.client.post(
        "/v1/jobs", headers=ada.headers,
        json={"document_id": stored["document_id"], "virtual_printer_id": str(virtual)},
    )  # fmt: skip
    assert refused.status == 422, await refused.text()
    assert [e["field"] for e in (await refused.json())["errors"]] == ["virtual_printer_id"]
