"""``printcloud webhooks`` run as processes against the edge, in front of the real
registry, auth and notifications processes: an administrator subscribes an endpoint (its
secret shown once), lists it, reads its empty delivery log, rotates the secret, switches
it off and on, and deletes it; an unsafe URL is refused with its reason."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from deploy.apidocs.openapi import document_json
from services.edge.app import create_edge_app
from services.edge.settings import EdgeSettings
from shared.infra.processes import ServiceProcess
from shared.testing.infra import TestInfra
from tests.support.apps import serving
from tests.support.platform import Platform, new_caller, new_tenant, prepare_platform

pytestmark = pytest.mark.timeout(300)
SERVICES = ("registry", "auth", "notifications")


@dataclass
class Rig:
    edge: str
    platform: Platform
    config: Path

    async def cli(self, *args: str) -> tuple[int, str, str]:
        env = {**os.environ, "PRINTCLOUD_CONFIG_DIR": str(self.config), "COLUMNS": "250"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deploy.cli", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()


@pytest.fixture(scope="module")
async def rig(infra: TestInfra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    workdir = tmp_path_factory.mktemp("cli-webhooks")
    platform = await prepare_platform(infra.bootstrap, infra.admin_dsn, workdir)
    try:
        for name in SERVICES:
            port = int(platform.env[name][f"PRINTCLOUD_{name.upper()}_HTTP_PORT"])
            proc = ServiceProcess(
                name, f"services.{name}", platform.env[name], platform.log_dir / f"{name}.log", port
            )
            platform.processes[name] = proc
            proc.start()
        for proc in platform.processes.values():
            await asyncio.to_thread(proc.wait_ready, 120)
        settings = EdgeSettings(upstreams={n: platform.url(n) for n in SERVICES})
        async with serving(create_edge_app(settings, openapi=document_json())) as edge:
            yield Rig(edge, platform, workdir / "config")
    finally:
        await asyncio.to_thread(platform.stop)


async def test_an_administrator_manages_webhook_endpoints(rig: Rig) -> None:
    async with aiohttp.ClientSession() as http:
        tenant = await new_tenant(http, rig.platform)
        admin = await new_caller(
            http, rig.platform, tenant, ["admin"], ["printers:read", "printers:write"]
        )
    code, _, err = await rig.cli("login", "--url", rig.edge, "--token", admin.api_token)
    assert code == 0, err

    code, out, err = await rig.cli(
        "webhooks", "create", "https://93.184.216.34/hooks", "--event", "job.*",
        "--event", "printer.connection_changed",
    )  # fmt: skip
    assert code == 0, err
    first_line = out.splitlines()[0]
    endpoint_id = first_line.split()[1]
    assert "https://93.184.216.34/hooks" in first_line and "(enabled)" in first_line
    assert "secret (shown once, store it): whsec_" in out

    code, out, err = await rig.cli("webhooks", "list")
    assert code == 0 and endpoint_id in out and "job.*, printer.connection_changed" in out, err
    code, out, err = await rig.cli("webhooks", "deliveries", endpoint_id)
    assert code == 0 and "last error" in out, err

    code, out, err = await rig.cli("webhooks", "rotate-secret", endpoint_id, "--overlap", "60")
    assert code == 0 and "new secret (shown once, store it): whsec_" in out, err
    assert "the previous secret signs until" in out

    code, out, err = await rig.cli("webhooks", "disable", endpoint_id)
    assert code == 0 and "disabled by an administrator" in out, err
    code, out, err = await rig.cli("webhooks", "enable", endpoint_id)
    assert code == 0 and "(enabled)" in out, err

    code, out, err = await rig.cli("webhooks", "create", "https://127.0.0.1/x", "--event", "*")
    assert code != 0 and "127.0.0.1 is a loopback address" in out + err

    code, out, err = await rig.cli("webhooks", "delete", endpoint_id)
    assert code == 0 and "deleted" in out, err
    code, out, err = await rig.cli("webhooks", "list")
    assert code == 0 and endpoint_id not in out, err
