"""Protected documents (application/vnd.printcloud.e2e) at the queues: taken by their
structure with the pages their sender declares, stored as the ciphertext they are,
and printed only at the one printer they are encrypted to."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest

from shared.crypto.e2e import E2E_FORMAT, TAG, EphemeralKey, decrypt, encrypt, read_framing
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


async def test_a_scan_is_delivered_once_by_its_printer_and_read_by_its_owner_only(
    q: Queues, tmp_path: Path
) -> None:
    ada, bob = await q.user(), await q.user()
    printer, other = await q.printer(), await q.printer()
    phone = EphemeralKey.generate()
    asked = {"printer_id": str(printer), "key_id": str(phone.key_id),
             "public_key": phone.public_text()}  # fmt: skip
    resp = await q.client.post("/v1/scans", json=asked, headers=ada.headers)
    assert resp.status == 201, await resp.text()
    scan = await resp.json()
    assert scan["state"] == "requested" and scan["document_id"] is None

    listed = await q.client.get("/v1/devices/me/scans", headers=q.device(printer))
    assert [s["scan_id"] for s in (await listed.json())["items"]] == [scan["scan_id"]]
    elsewhere = await q.client.get("/v1/devices/me/scans", headers=q.device(other))
    assert (await elsewhere.json())["items"] == []

    page = pdf(1, "scanned")
    out = io.BytesIO()
    encrypt(io.BytesIO(page).read, out.write, phone.private.public_key(), printer,
            phone.key_id, "application/pdf")  # fmt: skip
    path = f"/v1/devices/me/scans/{scan['scan_id']}/document"
    e2e = {"Content-Type": E2E_FORMAT}
    for who, body, headers, status in (
        (q.device(other), out.getvalue(), e2e, 404),  # not at its printers
        (q.device(printer), page, {"Content-Type": "application/pdf"}, 422),  # plaintext
        (q.device(printer), page, e2e, 422),  # not a protected document
    ):
        resp = await q.client.put(path, params={"pages": "1"}, data=body,
                                  headers={**who, **headers})  # fmt: skip
        assert resp.status == status, await resp.text()
    resp = await q.client.put(path, params={"pages": "1"}, data=out.getvalue(),
                              headers={**q.device(printer), **e2e})  # fmt: skip
    assert resp.status == 200, await resp.text()
    again = await q.client.put(path, params={"pages": "1"}, data=out.getvalue(),
                               headers={**q.device(printer), **e2e})  # fmt: skip
    assert again.status == 409 and (await again.json())["code"] == "scan-delivered"

    resp = await q.client.get(f"/v1/scans/{scan['scan_id']}", headers=ada.headers)
    assert (await resp.json())["state"] == "delivered"
    resp = await q.client.get(f"/v1/scans/{scan['scan_id']}/document", headers=ada.headers)
    assert resp.status == 200 and await resp.read() == out.getvalue()
    opened = io.BytesIO()
    decrypt(io.BytesIO(out.getvalue()).read, opened.write, phone.private, phone.key_id)
    assert opened.getvalue() == page
    for where in ("", "/document"):
        resp = await q.client.get(f"/v1/scans/{scan['scan_id']}{where}", headers=bob.headers)
        assert resp.status == 404 and (await resp.json())["code"] == "scan-not-found"
