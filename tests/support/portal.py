"""The portal's world for browser tests: the platform behind the edge with the portal,
two tenants (Ada and an administrator in one, Eve in the other), a printer served by a
real agent process, a virtual printer with it as member, and a browser."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from shared.testing.infra import TestInfra
from shared.testing.ipp import minimal_pdf
from tests.support.platform import (
    AgentPrinter,
    Caller,
    Platform,
    admin_scopes,
    new_caller,
    new_tenant,
    onboard_printer,
    running_platform,
)
from tests.support.waiting import eventually

USER_SCOPES = ["printers:read", "jobs:read", "jobs:submit"]
MAX_UPLOAD = 256 << 10
CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parents[1] / "portal" / "vendor" / "axe.min.js"


@dataclass
class PortalWorld:
    platform: Platform
    http: aiohttp.ClientSession
    workdir: Path
    ada: Caller
    admin: Caller
    eve: Caller
    admin_of_other_tenant: Caller
    printer: AgentPrinter
    virtual_printer_id: str

    @property
    def portal(self) -> str:
        """Where the browser opens the portal (localhost: passkeys need a host name)."""
        port = self.platform.processes["portal"].http_port
        return f"http://localhost:{port}/portal"

    async def call(self, method: str, path: str, who: Caller, **kwargs: Any) -> tuple[int, Any]:
        """One API request through the edge as ``who``."""
        async with self.http.request(
            method, self.platform.base_url + path, headers=who.headers, **kwargs
        ) as resp:
            body = await resp.json(content_type=None) if resp.content_length != 0 else None
            return resp.status, body

    async def job(self, job_id: str, who: Caller | None = None) -> dict[str, Any]:
        status, body = await self.call("GET", f"/v1/jobs/{job_id}", who or self.ada)
        assert status == 200, body
        return dict(body)

    async def jobs_of(self, who: Caller) -> list[dict[str, Any]]:
        status, body = await self.call("GET", "/v1/jobs?owner=me&limit=500", who)
        assert status == 200, body
        return list(body["items"])


async def registration_code(
    http: aiohttp.ClientSession, platform: Platform, state: Path
) -> tuple[str, asyncio.Task[Any]]:
    """A device waiting to be claimed (the agent's own onboarding code): its code, and
    the task that finishes onboarding once it is claimed."""
    from services.agent.onboarding import Registrar
    from services.agent.state import StateDir

    codes: asyncio.Queue[str] = asyncio.Queue()

    def say(line: str) -> None:
        found = re.search(r"\b([A-Z2-9]{4}-[A-Z2-9]{4})\b", line)
        if found:
            codes.put_nowait(found.group(1))

    registrar = Registrar(
        platform.url("registry"), StateDir(state), "printer", "Printcloud Test", http, 0.3
    )
    task = asyncio.create_task(registrar.run(say))
    return await asyncio.wait_for(codes.get(), 60), task


@contextlib.asynccontextmanager
async def running_portal_world(infra: TestInfra, workdir: Path) -> AsyncIterator[PortalWorld]:
    settings = {
        "queues": {"BLOB_DIR": str(workdir / "blobs")},
        "auth": {"ACCESS_TOKEN_TTL_S": "7200"},
        "portal": {"MAX_UPLOAD_BYTES": str(MAX_UPLOAD)},
    }
    async with (
        running_platform(infra.bootstrap, infra.admin_dsn, workdir, settings=settings,
                         edge=True) as platform,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http,
    ):  # fmt: skip
        tenant = await new_tenant(http, platform)
        other = await new_tenant(http, platform)
        ada = await new_caller(http, platform, tenant, ["user"], USER_SCOPES, "Ada Lovelace")
        admin = await new_caller(http, platform, tenant, ["admin"], admin_scopes(), "Grace")
        eve = await new_caller(http, platform, other, ["user"], USER_SCOPES, "Eve")
        mallory = await new_caller(http, platform, other, ["admin"], admin_scopes(), "Mallory")
        state = workdir / "printer-a"
        device_id = await onboard_printer(http, platform, tenant, state, "Office printer")
        spool = state / "spool"
        printer = AgentPrinter(
            "a", device_id, state,
            ["--mode", "simulator", "--spool", str(spool), "--jobs-interval", "5"],
            workdir / "logs" / "agent-a.log", spool=spool,
        )  # fmt: skip
        printer.start(platform.edge_ws_url, platform.base_url)
        try:
            resp = await http.post(
                platform.base_url + "/v1/virtual-printers", headers=platform.operator,
                json={"tenant_id": tenant, "name": "Floor 2 pull", "members": [device_id]},
            )  # fmt: skip
            assert resp.status == 201, await resp.text()
            virtual = str((await resp.json())["id"])
            world = PortalWorld(platform, http, workdir, ada, admin, eve, mallory, printer, virtual)

            async def accepting() -> bool:
                """A job to the printer is accepted and printed (the chain works)."""
                status, _ = await world.call("POST", "/v1/jobs", ada, data=_multipart(
                    {"printer_id": device_id, "title": "warm-up"}, minimal_pdf("warm-up")
                ))  # fmt: skip
                return status == 201

            await eventually(accepting, 120, "the printer accepting jobs")
            yield world
        finally:
            printer.kill()


def _multipart(job: dict[str, Any], document: bytes) -> aiohttp.FormData:
    import json

    form = aiohttp.FormData()
    form.add_field("job", json.dumps(job), content_type="application/json")
    form.add_field("document", document, filename="doc.pdf", content_type="application/pdf")
    return form


def new_id() -> str:
    return str(uuid.uuid4())
