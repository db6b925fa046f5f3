"""The end-to-end world of printing: the whole platform as processes behind the edge,
two tenants with their people, and printers served by real agent processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from services.agent.printers.simulator import DEFAULT_CAPABILITIES
from shared.testing.infra import TestInfra
from shared.testing.ipp import minimal_pdf, start_ippeveprinter, system_bus
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

ROOT = Path(__file__).resolve().parents[2]
USER_SCOPES = ["printers:read", "jobs:read", "jobs:submit"]
FINAL = {"completed", "failed", "canceled", "expired"}
POLL_S = 0.25  # through the edge, each poll is requests to the real services


@dataclass
class CliResult:
    code: int
    out: str


@dataclass
class JobsWorld:
    """The running platform, the people and the printers the job tests use."""

    platform: Platform
    http: aiohttp.ClientSession
    workdir: Path
    ada: Caller  # tenant 1, a user
    bob: Caller  # tenant 1, another user
    admin: Caller  # tenant 1, an administrator
    eve: Caller  # tenant 2, a user
    printers: dict[str, AgentPrinter]
    virtual_printer_id: str
    spare_state: Path  # a printer of tenant 1 that never runs an agent (its key is here)
    spare_id: str
    names: dict[str, str] = field(default_factory=dict)  # user id -> display name

    @property
    def base(self) -> str:
        return self.platform.base_url

    # ------------------------------------------------------------------ HTTP

    async def call(
        self, method: str, path: str, who: Caller | None = None, **kwargs: Any
    ) -> tuple[int, Any]:
        """One request through the edge; (status, JSON body or text)."""
        headers = dict(kwargs.pop("headers", {}) or {})
        if who is not None:
            headers.update(who.headers)
        async with self.http.request(method, self.base + path, headers=headers, **kwargs) as resp:
            raw = await resp.read()
            try:
                return resp.status, json.loads(raw)
            except ValueError:
                return resp.status, raw.decode(errors="replace")

    async def submit(
        self,
        who: Caller,
        document: bytes,
        *,
        printer: str | None = None,
        virtual_printer: str | None = None,
        settings: dict[str, Any] | None = None,
        release: str | None = None,
        title: str = "e2e",
        expect: int | None = 201,
    ) -> tuple[int, Any]:
        """Document and job in one multipart request (``POST /v1/jobs``)."""
        job: dict[str, Any] = {"settings": settings or {}, "title": title}
        if printer is not None:
            job["printer_id"] = printer
        if virtual_printer is not None:
            job["virtual_printer_id"] = virtual_printer
        if release is not None:
            job["release"] = release
        form = aiohttp.FormData()
        form.add_field("job", json.dumps(job), content_type="application/json")
        form.add_field("document", document, content_type="application/pdf", filename="d.pdf")
        status, body = await self.call("POST", "/v1/jobs", who, data=form)
        if expect is not None:
            assert status == expect, body
        return status, body

    async def job(self, who: Caller, job_id: str) -> dict[str, Any]:
        status, body = await self.call("GET", f"/v1/jobs/{job_id}", who)
        assert status == 200, body
        return dict(body)

    async def wait_state(
        self, who: Caller, job_id: str, states: set[str] | str, timeout: float = 90
    ) -> dict[str, Any]:
        """The job once it is in one of ``states``."""
        wanted = {states} if isinstance(states, str) else states
        seen: dict[str, Any] = {}

        async def reached() -> bool:
            seen.update(await self.job(who, job_id))
            return seen.get("state") in wanted

        try:
            await eventually(reached, timeout, f"job {job_id} in {sorted(wanted)}", interval=POLL_S)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; it is {seen.get('state')}: {seen}") from None
        return seen

    # ------------------------------------------------------------------ the CLI

    def config_dir(self, who: Caller) -> Path:
        return self.workdir / "cli" / who.user_id

    async def cli(self, who: Caller, *args: str, timeout: float = 120) -> CliResult:
        """``printcloud <args>`` as a process with ``who``'s stored login."""
        env = {**os.environ, "PRINTCLOUD_CONFIG_DIR": str(self.config_dir(who)),
               "COLUMNS": "200", "NO_COLOR": "1"}  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deploy.cli", *args, cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            out, _ = await proc.communicate()
            raise AssertionError(
                f"printcloud {' '.join(args)} did not finish:\n{out.decode()}"
            ) from None
        assert proc.returncode is not None
        return CliResult(proc.returncode, out.decode(errors="replace"))

    async def login(self, who: Caller) -> None:
        done = await self.cli(who, "login", "--url", self.base, "--token", who.api_token)
        assert done.code == 0, done.out

    # ------------------------------------------------------------------ printers

    def printer_id(self, name: str) -> str:
        return self.printers[name].device_id

    async def start_agent(self, name: str) -> None:
        """Start a printer's agent and wait until the registry has it online."""
        printer = self.printers[name]
        printer.start(self.platform.edge_ws_url, self.base)
        await self.wait_connection(name, "online")

    async def stop_agent(self, name: str) -> None:
        """Stop a printer's agent and wait until the registry has it offline."""
        await asyncio.to_thread(self.printers[name].stop)
        await self.wait_connection(name, "offline")

    async def printer(self, name: str) -> dict[str, Any]:
        status, body = await self.call(
            "GET", f"/v1/printers/{self.printer_id(name)}", headers=self.platform.operator
        )
        assert status == 200, body
        return dict(body)

    async def wait_connection(self, name: str, state: str, timeout: float = 90) -> None:
        async def reached() -> bool:
            printer = await self.printer(name)
            ready = state != "online" or printer.get("capabilities_version", 0) >= 1
            return printer.get("connection_state") == state and ready

        await eventually(reached, timeout, f"printer {name} {state}", interval=POLL_S)

    def prints(self, job_id: str) -> dict[str, int]:
        """How often each printer printed ``job_id`` (only those that did)."""
        counts = {name: p.prints(job_id) for name, p in self.printers.items()}
        return {name: n for name, n in counts.items() if n}


def one_sided_capabilities(path: Path) -> Path:
    """The simulator's capabilities without duplex, written to ``path``."""
    caps = DEFAULT_CAPABILITIES.model_copy(update={"sides_supported": ["one-sided"]})
    path.write_text(caps.model_dump_json())
    return path


async def warm_up(world: JobsWorld) -> None:
    """One job to every printer, retried while queues does not know the printer yet
    (409 printer-not-ready): the whole chain works before any test starts."""
    jobs: dict[str, str] = {}
    for name in world.printers:

        async def accepted(name: str = name) -> bool:
            status, body = await world.submit(
                world.ada, minimal_pdf(f"warm-up {name}"), printer=world.printer_id(name),
                title=f"warm-up {name}", expect=None,
            )  # fmt: skip
            assert status in (201, 404, 409), body
            if status == 201:
                jobs[name] = body["id"]
            return status == 201

        await eventually(accepted, 120, f"queues accepting jobs for {name}", interval=POLL_S)

    async def virtual_ready() -> bool:
        status, body = await world.submit(
            world.ada, minimal_pdf("warm-up pull"), virtual_printer=world.virtual_printer_id,
            title="warm-up pull", expect=None,
        )  # fmt: skip
        assert status in (201, 404, 409), body
        if status == 201:
            await world.wait_state(world.ada, body["id"], "held")
            status, body = await world.call("POST", f"/v1/jobs/{body['id']}/cancel", world.ada)
            assert status == 200, body
            return True
        return False

    await eventually(virtual_ready, 120, "queues accepting pull-print jobs", interval=POLL_S)
    for job_id in jobs.values():
        await world.wait_state(world.ada, job_id, "completed", timeout=120)


@contextlib.asynccontextmanager
async def running_jobs_world(infra: TestInfra, workdir: Path) -> AsyncIterator[JobsWorld]:
    """Every service as a process behind the edge; tenant 1 (Ada, Bob, an admin) and
    tenant 2 (Eve); printers ``a`` and ``b`` (simulators, members of a virtual printer),
    ``slow`` (a one-sided simulator taking seconds per job), ``ipp`` (a bridge to a real
    ippeveprinter) and ``spare`` (claimed, never running)."""
    settings = {
        "queues": {"MAINTENANCE_INTERVAL_S": "1", "BLOB_DIR": str(workdir / "blobs")},
        "routing": {"SWEEP_INTERVAL_S": "1"},
        "auth": {"ACCESS_TOKEN_TTL_S": "7200"},
    }
    with system_bus() as bus_env, contextlib.ExitStack() as stack:
        ipp = start_ippeveprinter(bus_env, workdir / "ipp-spool", command="/bin/true")
        stack.callback(ipp.stop)
        async with (
            running_platform(
                infra.bootstrap, infra.admin_dsn, workdir, settings=settings, edge=True
            ) as platform,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http,
        ):
            tenant = await new_tenant(http, platform)
            other = await new_tenant(http, platform)
            ada = await new_caller(http, platform, tenant, ["user"], USER_SCOPES, "Ada Lovelace")
            bob = await new_caller(http, platform, tenant, ["user"], USER_SCOPES, "Bob Babbage")
            admin = await new_caller(http, platform, tenant, ["admin"], admin_scopes(), "Admin")
            eve = await new_caller(http, platform, other, ["user"], USER_SCOPES, "Eve")
            printers: dict[str, AgentPrinter] = {}
            spec = {
                "a": ["--mode", "simulator"],
                "b": ["--mode", "simulator"],
                "slow": ["--mode", "simulator", "--print-seconds", "8", "--capabilities",
                         str(one_sided_capabilities(workdir / "one-sided.json"))],
                "ipp": ["--mode", "ipp", "--printer-uri", ipp.uri, "--probe-interval", "30"],
            }  # fmt: skip
            for name, args in spec.items():
                state = workdir / f"printer-{name}"
                device_id = await onboard_printer(http, platform, tenant, state, f"Printer {name}")
                spool = state / "spool" if "simulator" in args else None
                extra = ["--spool", str(spool)] if spool else []
                printers[name] = AgentPrinter(
                    name, device_id, state, [*args, *extra, "--jobs-interval", "5"],
                    workdir / "logs" / f"agent-{name}.log", env=bus_env, spool=spool,
                    ipp=ipp if name == "ipp" else None,
                )  # fmt: skip
            spare_state = workdir / "printer-spare"
            spare = await onboard_printer(http, platform, tenant, spare_state, "Printer spare")
            for printer in printers.values():
                stack.callback(printer.kill)
            resp = await http.post(
                platform.base_url + "/v1/virtual-printers",
                json={"tenant_id": tenant, "name": "Floor 2 pull",
                      "members": [printers["a"].device_id, printers["b"].device_id]},
                headers=platform.operator,
            )  # fmt: skip
            assert resp.status == 201, await resp.text()
            virtual = str((await resp.json())["id"])
            world = JobsWorld(
                platform, http, workdir, ada, bob, admin, eve, printers, virtual,
                spare_state, spare,
                {ada.user_id: "Ada Lovelace", bob.user_id: "Bob Babbage"},
            )  # fmt: skip
            for name in printers:
                printers[name].start(platform.edge_ws_url, platform.base_url)
            for name in printers:
                await world.wait_connection(name, "online", timeout=120)
            await warm_up(world)
            try:
                yield world
            finally:
                with ThreadPoolExecutor(len(printers)) as pool:
                    list(pool.map(lambda p: p.kill(), printers.values()))
                for proc in platform.processes.values():
                    if not proc.is_running():
                        print(f"{proc.name} is not running:\n{proc.log_tail()}")
