"""A real queues process takes a 200 MiB document from a real user's token without
holding it in memory: its peak resident set grows by a small fraction of the document."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from services.auth.app import SPEC as AUTH
from services.queues.app import SPEC as QUEUES
from shared.crypto.sealing import new_key_text
from shared.infra.processes import ServiceProcess
from shared.testing.documents import pdf, pdf_chunks
from shared.testing.fixtures import ServiceDbFactory, unique
from shared.testing.infra import TestInfra
from tests.support.processes import TOKEN, service_process

pytestmark = pytest.mark.e2e
OPERATOR = {"Authorization": f"Bearer {TOKEN}"}
MiB = 1 << 20


def _peak_rss(proc: ServiceProcess) -> int:
    """The process' peak resident set size in bytes (VmHWM)."""
    assert proc.proc is not None
    status = Path(f"/proc/{proc.proc.pid}/status").read_text()
    return next(int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmHWM:")) * 1024


async def _user_token(auth_url: str, tenant: uuid.UUID) -> str:
    async with aiohttp.ClientSession(auth_url, headers=OPERATOR) as api:
        user = await (
            await api.post(
                "/v1/users",
                json={
                    "tenant_id": str(tenant),
                    "display_name": "Ada",
                    "roles": ["user"],
                    "email": f"{unique('ada')}@example.com",
                },
            )
        ).json()
        made = await api.post(
            f"/v1/users/{user['id']}/api-tokens",
            json={"name": "e2e", "scopes": ["jobs:submit", "jobs:read"]},
        )
        secret = (await made.json())["token"]
        answer = await api.post("/v1/token", json={"grant_type": "api_token", "api_token": secret})
        assert answer.status == 200, await answer.text()
        return str((await answer.json())["access_token"])


async def test_a_200_mib_upload_leaves_the_queues_process_small(
    infra: TestInfra, service_db: ServiceDbFactory, topics: object, tmp_path: Path
) -> None:
    auth_db = await service_db(unique("auth"), AUTH.migrations_dir)
    queues_db = await service_db(unique("queues"), QUEUES.migrations_dir)
    kafka = {"KAFKA_BOOTSTRAP": infra.bootstrap}
    auth = service_process(
        "auth",
        {
            **kafka,
            "DATABASE_URL": auth_db.dsn,
            "DB_SCHEMA": auth_db.name,
            "KEY_ENCRYPTION_KEY": new_key_text(),
        },
        tmp_path,
    )
    jwks = f"http://127.0.0.1:{auth.http_port}/.well-known/jwks.json"
    queues = service_process(
        "queues",
        {
            **kafka,
            "DATABASE_URL": queues_db.dsn,
            "DB_SCHEMA": queues_db.name,
            "AUTH_JWKS_URL": jwks,
            "BLOB_DIR": str(tmp_path / "blobs"),
        },
        tmp_path,
    )
    procs = [auth, queues]
    try:
        for p in procs:
            p.start()
        for p in procs:
            await asyncio.to_thread(p.wait_ready, 90)
        token = await _user_token(f"http://127.0.0.1:{auth.http_port}", uuid.uuid4())
        total = 200

        def chunks() -> Iterator[bytes]:  # a real PDF padded to 200 MiB, never held whole
            return pdf_chunks(2, "e2e", padding=total * MiB - len(pdf(2, "e2e")) - 40)

        digest = hashlib.sha256()
        size = 0
        for chunk in chunks():
            digest.update(chunk)
            size += len(chunk)

        async def body() -> AsyncIterator[bytes]:
            for chunk in chunks():
                yield chunk

        before = _peak_rss(queues)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{queues.http_port}") as client:
            resp = await client.post(
                "/v1/documents",
                data=body(),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/octet-stream",
                    "X-Content-SHA256": digest.hexdigest(),
                },
            )
            assert resp.status == 201, await resp.text()
            stored_document = await resp.json()
            assert (stored_document["size"], stored_document["pages"]) == (size, 2)
        grown = _peak_rss(queues) - before
        print(f"queues peak RSS grew by {grown / MiB:.1f} MiB for a {total} MiB upload")
        assert grown < 48 * MiB, f"peak RSS grew by {grown / MiB:.1f} MiB"
        stored = tmp_path / "blobs" / digest.hexdigest()[:2] / digest.hexdigest()[2:4]
        assert (stored / digest.hexdigest()).stat().st_size == size
    finally:
        for p in procs:
            p.terminate()
