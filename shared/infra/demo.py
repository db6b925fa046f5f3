"""The demo printer of the local platform: a real agent process in simulator mode,
onboarded through the real API the first time (registered, then claimed for the
"Demo" tenant), and a print job that proves the whole chain."""

from __future__ import annotations

import asyncio
import base64
import re
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from services.agent.onboarding import Registrar
from services.agent.state import StateDir
from shared.infra.processes import ServiceProcess

DEMO_TENANT = "Demo"
_CODE = re.compile(r"\b([A-Z2-9]{4}-[A-Z2-9]{4})\b")


async def _demo_tenant(api: aiohttp.ClientSession) -> str:
    async with api.post("/v1/tenants", json={"name": DEMO_TENANT}) as resp:
        if resp.status == 201:
            return str((await resp.json())["id"])
    after = None
    while True:  # the tenant exists: find it
        params = {"limit": "500", **({"after": after} if after else {})}
        async with api.get("/v1/tenants", params=params) as resp:
            page = await resp.json()
        for tenant in page["items"]:
            if tenant["name"] == DEMO_TENANT:
                return str(tenant["id"])
        after = page["next_after"]
        if after is None:
            raise RuntimeError("the Demo tenant exists but cannot be found")


async def onboard(registry_url: str, token: str, state: Path) -> uuid.UUID:
    """The demo printer's device id: registered and claimed now, or from its state."""
    directory = StateDir(state)
    known = directory.identity()
    if known is not None:
        return known.device_id
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(registry_url, headers=headers) as api,
        aiohttp.ClientSession() as http,
    ):
        tenant = await _demo_tenant(api)
        codes: asyncio.Queue[str] = asyncio.Queue()

        def say(line: str) -> None:
            found = _CODE.search(line)
            if found:
                codes.put_nowait(found.group(1))

        registrar = Registrar(registry_url, directory, "printer", "Printcloud Demo", http, 0.5)
        waiting = asyncio.create_task(registrar.run(say))
        code = await asyncio.wait_for(codes.get(), 30)
        body = {"tenant_id": tenant, "claim_code": code, "name": "Demo printer",
                "region": "local", "location": "this machine"}  # fmt: skip
        async with api.post("/v1/registrations/claim", json=body) as resp:
            if resp.status != 201:
                waiting.cancel()
                raise RuntimeError(f"claiming the demo printer failed: {await resp.text()}")
        identity = await asyncio.wait_for(waiting, 30)
        return identity.device_id


def agent_process(state: Path, gateway_url: str, log: Path) -> ServiceProcess:
    """The demo agent: a printer simulator whose jobs land in ``state/spool``."""
    args = [
        "run", "--state", str(state), "--gateway", gateway_url, "--mode", "simulator",
        "--spool", str(state / "spool"),
    ]  # fmt: skip
    return ServiceProcess("demo-agent", "services.agent", {}, log, args=args)


async def print_test_page(registry_url: str, token: str, device_id: uuid.UUID, spool: Path) -> str:
    """Send a job to the demo printer as a command and wait for its file in the spool."""
    job_id = uuid.uuid4()
    document = b"%PDF-1.4\n% Printcloud test page\n%%EOF\n"
    payload: dict[str, Any] = {
        "job_id": str(job_id), "document_format": "application/pdf", "title": "test page",
        "document_b64": base64.b64encode(document).decode(),
    }  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(registry_url, headers=headers) as api:
        async with api.post(
            f"/v1/devices/{device_id}/commands", json={"name": "print_job", "payload": payload}
        ) as resp:
            resp.raise_for_status()
    for _ in range(200):  # the agent, another process, writes the file: poll for 60 s
        found = await asyncio.to_thread(lambda: list(spool.glob(f"{job_id}*")))
        if found:
            break
        await asyncio.sleep(0.3)
    else:
        raise RuntimeError(f"the demo printer did not print job {job_id} within 60 s")
    printed = found[0]
    if await asyncio.to_thread(printed.read_bytes) != document:
        raise RuntimeError(f"the demo printer printed something else into {printed}")
    return f"test page {job_id} printed by the demo printer into {printed}"
