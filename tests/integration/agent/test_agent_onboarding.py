"""``agent register`` as a process against a registry that checks what the real one
checks: the posted key, signed polls with increasing timestamps, codes that expire."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

from shared.crypto.encoding import b64url_decode
from shared.crypto.keys import load_public_key
from shared.crypto.signatures import verify
from shared.protocols.onboarding import DeviceKey, display_claim_code, poll_message
from tests.support.agent import ROOT, free_port


class FakeRegistry:
    """POST /v1/registrations and GET /v1/registrations/{id}: pending, expired, claimed."""

    def __init__(self) -> None:
        self.device_id, self.tenant_id = uuid.uuid4(), uuid.uuid4()
        self.registrations: list[dict[str, Any]] = []
        self.stamps: list[int] = []
        self.problems: list[str] = []
        self.polls = 0
        self.key: DeviceKey | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/registrations", self.start)
        app.router.add_get("/v1/registrations/{rid}", self.poll)
        return app

    async def start(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = DeviceKey.parse(body["public_key"])
        if self.key is not None and key != self.key:
            self.problems.append("a different key on re-registration")
        self.key = key
        if body["kind"] != "printer" or body["model"] != "Laser 5000":
            self.problems.append(f"unexpected body {body}")
        code = display_claim_code("ABCDEFGH" if not self.registrations else "HJKMNPQR")
        reg = {
            "registration_id": str(uuid.uuid4()), "kind": "printer", "status": "pending",
            "fingerprint": key.fingerprint, "expires_at": "2030-01-01T00:00:00+00:00",
            "claim_code": code, "claim_url": f"http://cloud.example/claim?code={code}",
        }  # fmt: skip
        self.registrations.append(reg)
        return web.json_response(reg, status=201)

    async def poll(self, request: web.Request) -> web.Response:
        rid = uuid.UUID(request.match_info["rid"])
        stamp = int(request.headers["X-Printcloud-Timestamp"])
        signature = b64url_decode(request.headers["X-Printcloud-Signature"])
        assert self.key is not None
        key = load_public_key(self.key.text())
        if not verify(key, poll_message(rid, stamp), signature):
            self.problems.append("bad poll signature")
            return web.json_response({"detail": "bad signature"}, status=401)
        if self.stamps and stamp <= self.stamps[-1]:
            self.problems.append(f"timestamp {stamp} does not increase")
        self.stamps.append(stamp)
        self.polls += 1
        current = dict(self.registrations[-1])
        if str(rid) != current["registration_id"]:
            self.problems.append("polled an old registration")
        if self.polls == 2:
            current["status"] = "expired"
        elif self.polls >= 4:
            current.update(status="claimed", device_id=str(self.device_id),
                           tenant_id=str(self.tenant_id))  # fmt: skip
        return web.json_response(current)


async def test_register_polls_signed_renews_an_expired_code_and_saves_identity(
    tmp_path: Path,
) -> None:
    registry = FakeRegistry()
    runner = web.AppRunner(registry.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    state = tmp_path / "state"
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.agent", "register",
            "--registry-url", f"http://127.0.0.1:{port}", "--state", str(state),
            "--kind", "printer", "--model", "Laser 5000", "--poll-interval", "0.2",
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        await runner.cleanup()
    text = out.decode()
    assert proc.returncode == 0, text
    assert not registry.problems, registry.problems
    assert "Claim code: ABCD-EFGH" in text and "http://cloud.example/claim?code=ABCD-EFGH" in text
    assert "Claim code: HJKM-NPQR" in text  # a fresh code after the first one expired
    assert len(registry.registrations) == 2 and registry.polls == 4
    identity = json.loads((state / "identity.json").read_text())
    assert identity == {"device_id": str(registry.device_id),
                        "tenant_id": str(registry.tenant_id), "kind": "printer"}  # fmt: skip
