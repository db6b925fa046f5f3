"""A printer whose registration cannot reach the cloud, every part a real process: the
registry, auth and the gateway; the agent, pointed at an address where nothing answers
yet, prints its registration sheet on the real printer behind it (ippeveprinter); a
tenant administrator's phone reads the QR code off the printed page and relays it;
the cloud comes within reach, the agent collects its identity, connects and prints."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest
import zxingcpp
from PIL import Image

from services.auth.app import SPEC as AUTH
from services.registry.app import SPEC as REGISTRY
from shared.crypto.sealing import new_key_text
from shared.infra.kafka import free_port
from shared.protocols.onboarding import Sheet
from shared.testing.fixtures import ServiceDbFactory, unique
from shared.testing.infra import TestInfra
from shared.testing.ipp import minimal_pdf, start_ippeveprinter, system_bus
from tests.support.agent import agent
from tests.support.network import Relay
from tests.support.processes import TOKEN, service_process
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
OPERATOR = {"Authorization": f"Bearer {TOKEN}"}


def read_qr(pdf: Path, workdir: Path) -> str | None:
    """The QR code on the first page of ``pdf``, rendered at 150 dpi (None: none found)."""
    base = workdir / pdf.stem
    done = subprocess.run(
        ["pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", "-singlefile", str(pdf), str(base)],
        capture_output=True,
    )  # fmt: skip
    if done.returncode != 0:
        return None  # not all there yet
    with Image.open(base.with_suffix(".png")) as page:
        found = zxingcpp.read_barcodes(page, formats=zxingcpp.BarcodeFormat.QRCode)
    return found[0].text if found else None


async def admin_token(auth_url: str, tenant: str) -> str:
    """An access token of a new administrator of ``tenant``, made through auth's API."""
    async with aiohttp.ClientSession(auth_url, headers=OPERATOR) as api:
        body = {"tenant_id": tenant, "display_name": "Ada", "roles": ["admin"],
                "email": f"{unique('ada')}@example.com"}  # fmt: skip
        user = await (await api.post("/v1/users", json=body)).json()
        made = await api.post(
            f"/v1/users/{user['id']}/api-tokens",
            json={"name": "phone", "scopes": ["printers:read", "printers:write"]},
        )
        secret = (await made.json())["token"]
        answer = await api.post("/v1/token", json={"grant_type": "api_token", "api_token": secret})
        assert answer.status == 200, await answer.text()
        return str((await answer.json())["access_token"])


async def test_an_unreachable_printer_prints_its_sheet_is_relayed_and_then_prints(
    infra: TestInfra, service_db: ServiceDbFactory, topics: object, tmp_path: Path
) -> None:
    reg_db = await service_db(unique("registry"), REGISTRY.migrations_dir)
    auth_db = await service_db(unique("auth"), AUTH.migrations_dir)
    kafka = {"KAFKA_BOOTSTRAP": infra.bootstrap}
    auth = service_process(
        "auth",
        {**kafka, "DATABASE_URL": auth_db.dsn, "DB_SCHEMA": auth_db.name,
         "KEY_ENCRYPTION_KEY": new_key_text()},
        tmp_path,
    )  # fmt: skip
    jwks = f"http://127.0.0.1:{auth.http_port}/.well-known/jwks.json"
    registry = service_process(
        "registry",
        {**kafka, "DATABASE_URL": reg_db.dsn, "DB_SCHEMA": reg_db.name, "AUTH_JWKS_URL": jwks},
        tmp_path,
    )
    gateway = service_process(
        "gateway", {**kafka, "REGISTRY_URL": f"http://127.0.0.1:{registry.http_port}"}, tmp_path
    )
    procs = [registry, auth, gateway]
    api_url = f"http://127.0.0.1:{registry.http_port}"
    # The agent's way to the cloud: closed (nothing listens) until the outage ends.
    route = Relay(free_port(), ("127.0.0.1", registry.http_port))
    cloud_url = f"http://127.0.0.1:{route.port}"
    state = tmp_path / "agent-state"
    register_log = tmp_path / "register.log"
    register: asyncio.subprocess.Process | None = None
    phone = {**os.environ, "PRINTCLOUD_CONFIG_DIR": str(tmp_path / "phone")}
    try:
        for p in procs:
            p.start()
        for p in procs:
            await asyncio.to_thread(p.wait_ready, 90)
        async with aiohttp.ClientSession(api_url, headers=OPERATOR) as api:
            tenant = await (await api.post("/v1/tenants", json={"name": unique("T")})).json()
            token = await admin_token(f"http://127.0.0.1:{auth.http_port}", tenant["id"])
            with system_bus() as env:
                printer = start_ippeveprinter(env, tmp_path / "spool")
                try:
                    # 1. The registration request gets no answer: by itself, the agent
                    #    prints its sheet on the printer behind it and keeps trying.
                    with register_log.open("wb") as log:
                        register = await asyncio.create_subprocess_exec(
                            sys.executable, "-m", "services.agent", "register",
                            "--registry-url", cloud_url, "--state", str(state),
                            "--kind", "printer", "--model", "Acme IPP 1",
                            "--printer-uri", printer.uri, "--retry-interval", "0.5",
                            "--poll-interval", "0.5", cwd=ROOT, stdout=log, stderr=log,
                        )  # fmt: skip
                    scans = tmp_path / "scans"
                    scans.mkdir()
                    printed: list[str] = []

                    def sheet_printed() -> bool:
                        for pdf in printer.spool.glob("*.pdf"):
                            payload = read_qr(pdf, scans)
                            if payload:
                                printed.append(payload)
                                return True
                        return False

                    await eventually(sheet_printed, timeout=90, what="the sheet on paper")
                    payload = printed[0]
                    sheet = Sheet.parse(payload)
                    assert sheet.signed and sheet.cloud_url == cloud_url
                    shown = json.loads((state / "panel.json").read_text())["registration"]
                    assert shown["qr_payload"] == payload  # the display shows the same sheet
                    assert (state / "registration-sheet.pdf").exists()

                    # 2. A tenant administrator's phone relays what it read off the page,
                    #    reaching the cloud by its own way.
                    relay = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "deploy.cli", "phone", "relay", payload,
                        "--name", "Lobby", "--region", "eu-west", "--url", api_url,
                        "--token", token, cwd=ROOT, env=phone,
                        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                    )  # fmt: skip
                    out, _ = await asyncio.wait_for(relay.communicate(), 60)
                    assert relay.returncode == 0, out.decode()
                    assert register.returncode is None  # still out of reach, still trying

                    # 3. The way to the cloud opens: the agent collects its identity.
                    await route.open()
                    code = await asyncio.wait_for(register.wait(), 90)
                    assert code == 0, register_log.read_text()
                    identity = json.loads((state / "identity.json").read_text())
                    assert identity["tenant_id"] == tenant["id"]
                    device_id = identity["device_id"]
                    assert f"printer {device_id}" in out.decode()

                    # 4. It connects, reports what the printer can do, and prints.
                    gw = f"ws://127.0.0.1:{gateway.http_port}/v1/devices/ws"
                    with agent(state, gw, "--mode", "ipp", "--printer-uri", printer.uri):

                        async def online() -> bool:
                            p = await (await api.get(f"/v1/printers/{device_id}")).json()
                            return bool(
                                p["connection_state"] == "online" and p["capabilities_version"]
                            )

                        await eventually(online, timeout=90, what="the printer online")
                        assert (await (await api.get(f"/v1/printers/{device_id}")).json())[
                            "name"
                        ] == "Lobby"
                        document, job_id = minimal_pdf("after the outage"), uuid.uuid4()
                        job = {"job_id": str(job_id), "document_format": "application/pdf",
                               "document_b64": base64.b64encode(document).decode(),
                               "title": "after the outage"}  # fmt: skip
                        issued = await api.post(
                            f"/v1/devices/{device_id}/commands",
                            json={"name": "print_job", "payload": job},
                        )
                        assert issued.status == 202, await issued.text()

                        def arrived() -> bool:
                            files = printer.documents(job_id)
                            return len(files) == 1 and files[0].read_bytes() == document

                        await eventually(arrived, timeout=90, what="the job on the printer")
                finally:
                    if register is not None and register.returncode is None:
                        register.kill()
                        await register.wait()
                    printer.stop()
    finally:
        await route.close()
        for p in procs:
            p.terminate()
