"""The user CLI as people run it: ``python -m deploy.cli`` as a process of its own,
against the edge in front of some of the platform's services, each a real process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from deploy.apidocs.openapi import document_json
from services.edge.app import create_edge_app
from services.edge.settings import EdgeSettings
from shared.infra.processes import ServiceProcess
from shared.testing.infra import TestInfra
from tests.support.apps import serving
from tests.support.platform import Platform, prepare_platform


@dataclass
class CliRig:
    """The edge's URL, the platform behind it, and the CLI's configuration folder."""

    edge: str
    platform: Platform
    config: Path

    async def cli(self, *args: str, config: Path | None = None) -> tuple[int, str, str]:
        """Run ``printcloud <args>`` (its own configuration folder unless ``config``);
        the exit code, stdout and stderr."""
        env = {**os.environ, "PRINTCLOUD_CONFIG_DIR": str(config or self.config),
               "COLUMNS": "250"}  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deploy.cli", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()


@contextlib.asynccontextmanager
async def cli_rig(
    infra: TestInfra, workdir: Path, services: Sequence[str]
) -> AsyncIterator[CliRig]:
    """``services`` started as processes (each waited for until ready) behind an edge."""
    platform = await prepare_platform(infra.bootstrap, infra.admin_dsn, workdir)
    try:
        for name in services:
            port = int(platform.env[name][f"PRINTCLOUD_{name.upper()}_HTTP_PORT"])
            proc = ServiceProcess(
                name, f"services.{name}", platform.env[name], platform.log_dir / f"{name}.log", port
            )
            platform.processes[name] = proc
            proc.start()
        for proc in platform.processes.values():
            await asyncio.to_thread(proc.wait_ready, 120)
        settings = EdgeSettings(upstreams={n: platform.url(n) for n in services})
        async with serving(create_edge_app(settings, openapi=document_json())) as edge:
            yield CliRig(edge, platform, workdir / "config")
    finally:
        await asyncio.to_thread(platform.stop)
