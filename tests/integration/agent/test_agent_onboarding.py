"""``agent register`` as a process against a registry that checks what the real one
checks: the posted key, signed polls with increasing timestamps, codes that expire."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from shared.infra.kafka import free_port
from tests.support.agent import ROOT, FakeRegistry
from tests.support.apps import serve


async def test_register_polls_signed_renews_an_expired_code_and_saves_identity(
    tmp_path: Path,
) -> None:
    registry = FakeRegistry()
    port = free_port()
    runner = await serve(registry.app(), port)
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
