"""A device from unboxing to printing, every part a real process: the registry,
auth and the gateway; the agent registering online, claimed by an administrator,
logging in with its key and bridging to a real IPP printer (ippeveprinter)."""

from __future__ import annotations

import asyncio
import base64
import re
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest

from services.auth.app import SPEC as AUTH
from services.registry.app import SPEC as REGISTRY
from shared.crypto.sealing import new_key_text
from shared.testing.fixtures import ServiceDbFactory, unique
from shared.testing.infra import TestInfra
from shared.testing.ipp import minimal_pdf, start_ippeveprinter, system_bus
from tests.support.agent import agent
from tests.support.processes import TOKEN, service_process
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


async def test_register_claim_connect_report_and_print_byte_for_byte(
    infra: TestInfra, service_db: ServiceDbFactory, topics: object, tmp_path: Path
) -> None:
    reg_db = await service_db(unique("registry"), REGISTRY.migrations_dir)
    auth_db = await service_db(unique("auth"), AUTH.migrations_dir)
    kafka = {"KAFKA_BOOTSTRAP": infra.bootstrap}
    registry = service_process(
        "registry", {**kafka, "DATABASE_URL": reg_db.dsn, "DB_SCHEMA": reg_db.name}, tmp_path
    )
    auth = service_process(
        "auth",
        {**kafka, "DATABASE_URL": auth_db.dsn, "DB_SCHEMA": auth_db.name,
         "KEY_ENCRYPTION_KEY": new_key_text()},
        tmp_path,
    )  # fmt: skip
    gateway = service_process(
        "gateway", {**kafka, "REGISTRY_URL": f"http://127.0.0.1:{registry.http_port}"}, tmp_path
    )
    procs = [registry, auth, gateway]
    api_url = f"http://127.0.0.1:{registry.http_port}"
    state = tmp_path / "agent-state"
    try:
        for p in procs:
            p.start()
        for p in procs:
            await asyncio.to_thread(p.wait_ready, 90)
        async with aiohttp.ClientSession(
            api_url, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as api:
            tenant = await (await api.post("/v1/tenants", json={"name": unique("T")})).json()

            # 1. The device registers online and shows its claim code.
            register = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "services.agent", "register", "--registry-url", api_url,
                "--state", str(state), "--kind", "printer", "--model", "Acme IPP 1",
                cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            assert register.stdout is not None
            code = None
            async with asyncio.timeout(60):
                while code is None:
                    line = (await register.stdout.readline()).decode()
                    assert line, "the agent stopped before showing a claim code"
                    found = re.search(r"\b([A-Z2-9]{4}-[A-Z2-9]{4})\b", line)
                    code = found.group(1) if found else None

            # 2. An administrator claims it; the agent learns its identity.
            body = {"tenant_id": tenant["id"], "claim_code": code, "name": "Lobby",
                    "region": "eu-west"}  # fmt: skip
            claimed = await api.post("/v1/registrations/claim", json=body)
            assert claimed.status == 201, await claimed.text()
            device_id = (await claimed.json())["device_id"]
            assert await asyncio.wait_for(register.wait(), 60) == 0

            # 3. It connects through the gateway, bridging a real IPP printer.
            with system_bus() as env:
                printer = start_ippeveprinter(env, tmp_path / "spool")
                try:
                    gw = f"ws://127.0.0.1:{gateway.http_port}/v1/devices/ws"
                    with agent(state, gw, "--mode", "ipp", "--printer-uri", printer.uri):

                        async def online_with_caps() -> bool:
                            p = await (await api.get(f"/v1/printers/{device_id}")).json()
                            return (
                                p["connection_state"] == "online" and p["capabilities_version"] >= 1
                            )

                        await eventually(online_with_caps, timeout=60)
                        caps = await (
                            await api.get(f"/v1/printers/{device_id}/capabilities")
                        ).json()
                        assert (
                            "application/pdf" in caps["capabilities"]["document_format_supported"]
                        )
                        assert "two-sided-long-edge" in caps["capabilities"]["sides_supported"]

                        # 4. A job sent as a command arrives at the printer byte for byte.
                        document, job_id = minimal_pdf("end to end"), uuid.uuid4()
                        payload = {"job_id": str(job_id), "document_format": "application/pdf",
                                   "document_b64": base64.b64encode(document).decode(),
                                   "title": "e2e"}  # fmt: skip
                        issued = await api.post(
                            f"/v1/devices/{device_id}/commands",
                            json={"name": "print_job", "payload": payload},
                        )
                        assert issued.status == 202

                        async def acknowledged() -> bool:
                            pending = await api.get(f"/v1/devices/{device_id}/commands")
                            return (await pending.json())["items"] == []

                        await eventually(acknowledged, timeout=60)
                        files = printer.documents(job_id)
                        assert len(files) == 1 and files[0].read_bytes() == document
                finally:
                    printer.stop()
    finally:
        for p in procs:
            p.terminate()
