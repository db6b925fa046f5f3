"""End-to-end protected documents, every part a real process: the printer's agent
publishes its ephemeral key (signed with its device key) and shows it on its panel;
``printcloud print --protect`` and ``printcloud phone print`` encrypt to it; the agent
decrypts and prints on a real IPP printer (ippeveprinter), byte for byte. The cloud's
blob store, every Kafka topic and every process log hold no plaintext of the marker
document; a tampered ciphertext fails its job with the reason. In the other direction, a
simulator scans a page and sends it encrypted to the key of the phone that asked."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from cryptography.hazmat.primitives.asymmetric import ed25519

from shared.crypto.e2e import (
    E2E_FORMAT,
    TAG,
    EphemeralKey,
    KeyOffer,
    decode_offer_payload,
    encode_offer_payload,
    encrypt,
    make_offer,
    read_framing,
    verify_offer,
)
from shared.crypto.encoding import b64url_decode
from shared.crypto.keys import load_public_key_bytes
from shared.testing.documents import pdf
from shared.testing.infra import TestInfra
from tests.support.jobs import POLL_S, JobsWorld
from tests.support.kafka import kafka_options
from tests.support.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]


async def published_offer(w: JobsWorld, name: str) -> dict[str, object]:
    """The printer's key offer as the cloud serves it, once the agent published it."""
    seen: dict[str, object] = {}

    async def published() -> bool:
        status, body = await w.call("GET", f"/v1/devices/{w.printer_id(name)}/e2e-key", w.ada)
        assert status in (200, 404), body
        if status == 200:
            seen.update(body)
        return status == 200

    await eventually(published, 90, f"printer {name}'s end-to-end key", interval=POLL_S)
    return seen


def files_holding(paths: list[Path], marker: bytes) -> list[Path]:
    """The files whose bytes contain ``marker`` (read in overlapping pieces)."""
    found = []
    for path in paths:
        with path.open("rb") as handle:
            tail = b""
            while piece := handle.read(1 << 20):
                if marker in tail + piece:
                    found.append(path)
                    break
                tail = piece[-len(marker) :]
    return found


async def kafka_records_holding(bootstrap: str, marker: bytes) -> tuple[int, list[str]]:
    """How many records every topic holds (internal ones too, read from the start to
    the end), and where ``marker`` appears in a key, value or header."""
    options = {**kafka_options(bootstrap), "exclude_internal_topics": False}
    lister = AIOKafkaConsumer(**options)
    await lister.start()
    try:
        topics = await lister.topics()
    finally:
        await lister.stop()
    consumer = AIOKafkaConsumer(
        *sorted(topics), **options, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:

        async def assigned() -> bool:
            return {tp.topic for tp in consumer.assignment()} == topics

        await eventually(assigned, 60, "every topic's partitions assigned", interval=0.2)
        parts = sorted(consumer.assignment())
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        read, hits = 0, []

        async def drained() -> bool:
            nonlocal read
            for tp, records in (await consumer.getmany(timeout_ms=500, max_records=5000)).items():
                for r in records:
                    read += 1
                    blobs = [r.key or b"", r.value or b"", *(v for _, v in r.headers or ())]
                    if any(marker in b for b in blobs):
                        hits.append(f"{tp.topic}[{tp.partition}]@{r.offset}")
            positions = {tp: await consumer.position(tp) for tp in parts}
            return all(positions[tp] >= ends[tp] for tp in parts)

        await eventually(drained, 300, "every topic read to its end", interval=0)
    finally:
        await consumer.stop()
    return read, hits


async def test_protected_documents_print_byte_for_byte_and_the_cloud_holds_no_plaintext(
    jobs_world: JobsWorld, infra: TestInfra, tmp_path: Path
) -> None:
    w = jobs_world
    marker = f"PLAINTEXT-MARKER-{uuid.uuid4().hex}"
    documents = {how: pdf(2, f"{marker} {how}", padding=300_000) for how in ("cli", "phone")}
    assert all(marker.encode() in d for d in documents.values())
    await published_offer(w, "ipp")
    await w.login(w.ada)
    jobs: dict[str, str] = {}

    # From the CLI: the key fetched through the cloud, checked against the device key.
    path = tmp_path / "salaries.pdf"
    path.write_bytes(documents["cli"])
    printed = await w.cli(w.ada, "print", str(path), "--printer", w.printer_id("ipp"), "--protect")
    assert printed.code == 0, printed.out
    jobs["cli"] = re.search(r"job ([0-9a-f-]{36})", printed.out).group(1)  # type: ignore[union-attr]

    # From the phone: the key the printer shows on its panel (the QR code).
    code = str(w.printers["ipp"].panel()["e2e"]["qr_payload"])
    path = tmp_path / "contract.pdf"
    path.write_bytes(documents["phone"])
    printed = await w.cli(w.ada, "phone", "print", code, str(path))
    assert printed.code == 0, printed.out
    jobs["phone"] = re.search(r"job ([0-9a-f-]{36})", printed.out).group(1)  # type: ignore[union-attr]

    for how, job_id in jobs.items():
        job = await w.wait_state(w.ada, job_id, "completed")
        assert job["title"] == "protected document" and job["pages"] == 2
        (kept,) = w.printers["ipp"].spooled(job_id)
        assert kept.read_bytes() == documents[how], how

    # A QR code whose key the device did not sign is refused before anything is sent.
    url, offer = decode_offer_payload(code)
    stranger = ed25519.Ed25519PrivateKey.generate()  # not the printer's device key
    forged = make_offer(stranger, offer.device_id, EphemeralKey.generate())
    refused = await w.cli(w.ada, "phone", "print", encode_offer_payload(url, forged), str(path))
    assert refused.code != 0 and "cannot be trusted" in refused.out, refused.out

    # The proof: the marker is where the plaintext is meant to be (the printer's spool),
    # and nowhere in the cloud: not in its blob store, any Kafka topic or any log.
    needle = marker.encode()
    assert files_holding(w.printers["ipp"].ipp.documents(jobs["cli"]), needle)
    blobs = [p for p in (w.workdir / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) >= 2
    assert files_holding(blobs, needle) == []
    read, hits = await kafka_records_holding(infra.bootstrap, needle)
    assert read > 0 and hits == []
    logs = w.platform.logs()
    assert any(p.name.startswith("queues") for p in logs)
    assert files_holding(logs, needle) == []


async def test_a_tampered_protected_document_fails_its_job_with_the_reason(
    jobs_world: JobsWorld,
) -> None:
    w = jobs_world
    view = await published_offer(w, "ipp")
    device_id = uuid.UUID(w.printer_id("ipp"))
    offer = KeyOffer.from_json(view)
    device_key = load_public_key_bytes(b64url_decode(str(view["device_public_key"])))
    public = verify_offer(offer, device_key, device_id)
    out = io.BytesIO()
    plain = pdf(1, "tampered", padding=200_000)
    encrypt(io.BytesIO(plain).read, out.write, public, device_id, offer.key_id, "application/pdf")
    sealed = bytearray(out.getvalue())
    body = read_framing(io.BytesIO(bytes(sealed)).read).body_offset
    sealed[body + (64 * 1024 + TAG) + 100] ^= 0x01  # a bit of chunk 1 flipped

    status, document = await w.call(
        "POST", "/v1/documents?pages=1", w.ada, data=bytes(sealed),
        headers={"Content-Type": E2E_FORMAT},
    )  # fmt: skip
    assert status == 201, document
    job = {
        "document_id": document["document_id"],
        "printer_id": str(device_id),
        "title": "tampered",
    }
    status, submitted = await w.call("POST", "/v1/jobs", w.ada, json=job)
    assert status == 201, submitted
    failed = await w.wait_state(w.ada, submitted["id"], {"failed", "completed"})
    assert failed["state"] == "failed", failed
    assert "chunk 1 was altered or is out of order" in failed["state_detail"], failed
    assert w.printers["ipp"].spooled(submitted["id"]) == []

    # Without a page count the cloud cannot take one: it cannot read the document.
    status, problem = await w.call(
        "POST", "/v1/documents", w.ada, data=bytes(sealed), headers={"Content-Type": E2E_FORMAT}
    )
    assert status == 422 and any(e["field"] == "pages" for e in problem["errors"]), problem


async def test_a_scan_reaches_the_phone_encrypted_to_a_key_only_the_phone_holds(
    jobs_world: JobsWorld,
    infra: TestInfra,
    tmp_path: Path,
) -> None:
    w = jobs_world
    await w.login(w.ada)
    out = tmp_path / "scan.pdf"
    done = await w.cli(
        w.ada, "phone", "scan", "--printer", w.printer_id("a"), "--out", str(out),
        "--timeout", "120",
    )  # fmt: skip
    assert done.code == 0, done.out
    page = out.read_bytes()
    token = re.search(rb"scan-[0-9a-f]{32}", page)
    assert page.startswith(b"%PDF-") and token is not None, page[:200]
    scanned = w.printers["a"].state / "scans" / f"{token.group(0).decode()}.pdf"
    assert scanned.read_bytes() == page  # what the printer scanned, byte for byte
    scan_id = re.search(r"scan ([0-9a-f-]{36})", done.out).group(1)  # type: ignore[union-attr]
    status, scan = await w.call("GET", f"/v1/scans/{scan_id}", w.ada)
    assert status == 200 and scan["state"] == "delivered", scan
    status, _ = await w.call("GET", f"/v1/scans/{scan_id}", w.bob)
    assert status == 404
    status, sealed = await w.call("GET", f"/v1/scans/{scan_id}/document", w.ada)
    assert status == 200 and token.group(0).decode() not in str(sealed)

    blobs = [p for p in (w.workdir / "blobs").rglob("*") if p.is_file()]
    assert files_holding(blobs, token.group(0)) == []
    assert files_holding(w.platform.logs(), token.group(0)) == []
    read, hits = await kafka_records_holding(infra.bootstrap, token.group(0))
    assert read > 0 and hits == []
