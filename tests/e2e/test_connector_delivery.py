"""A connector on a site network, every part a real process: the whole platform behind
the edge, one connector agent and real IPP printers (ippeveprinter), each with a file
endpoint. The connector prints the jobs, delivers the files and settings meant for each
printer it reaches, reports the one that is down as offline and delivers that one's
content once it is up; killed in the middle of a delivery, it resumes without sending
anything twice."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shared.infra.kafka import free_port_range
from shared.testing.files import FileEndpoint, file_endpoint
from shared.testing.infra import TestInfra
from shared.testing.ipp import IppPrinterProcess, minimal_pdf, start_ippeveprinter, system_bus
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
from tests.support.waiting import Check, eventually

pytestmark = pytest.mark.e2e
WAIT_S = 120
CONNECTOR_ARGS = ["--mode", "connector", "--probe-interval", "1", "--probe-timeout", "2",
                  "--jobs-interval", "5", "--concurrency", "2"]  # fmt: skip


@dataclass
class Cloud:
    """The running platform, one tenant and its administrator."""

    platform: Platform
    http: aiohttp.ClientSession
    tenant: str
    admin: Caller
    bus: dict[str, str]
    workdir: Path

    async def call(
        self, method: str, path: str, *, operator: bool = False, **kwargs: Any
    ) -> tuple[int, Any]:
        """One request through the edge, as the administrator (or the operator)."""
        headers = self.platform.operator if operator else self.admin.headers
        url = self.platform.base_url + path
        async with self.http.request(method, url, headers=headers, **kwargs) as resp:
            raw = await resp.read()
            return resp.status, json.loads(raw) if raw else None

    async def printer(self, name: str) -> str:
        """A new printer of the tenant; its id."""
        body = {"tenant_id": self.tenant, "name": f"{name} {uuid.uuid4().hex[:6]}",
                "model": "Test Model", "region": "eu-west"}  # fmt: skip
        status, created = await self.call("POST", "/v1/printers", operator=True, json=body)
        assert status == 201, created
        return str(created["id"])

    async def connector(self, devices: list[dict[str, str]]) -> tuple[str, Path]:
        """A connector claimed for the tenant, responsible for ``devices``; id and state."""
        state = self.workdir / f"connector-{uuid.uuid4().hex[:6]}"
        connector_id = await onboard_printer(
            self.http, self.platform, self.tenant, state, state.name, kind="connector"
        )
        status, body = await self.call(
            "PUT", f"/v1/connectors/{connector_id}/devices", operator=True,
            json={"devices": devices},
        )  # fmt: skip
        assert status == 200, body
        return connector_id, state

    def agent(self, name: str, connector_id: str, state: Path) -> AgentPrinter:
        """The connector's agent process (not started)."""
        log = self.workdir / "logs" / f"agent-{name}.log"
        return AgentPrinter(name, connector_id, state, CONNECTOR_ARGS, log, env=self.bus)

    def start(self, agent: AgentPrinter) -> None:
        agent.start(self.platform.edge_ws_url, self.platform.base_url)

    async def command(self, printer_id: str, name: str, payload: dict[str, Any]) -> str:
        """Ask the cloud to send a printer a command; its id."""
        status, body = await self.call(
            "POST", f"/v1/devices/{printer_id}/commands", json={"name": name, "payload": payload}
        )
        assert status == 202, body
        return str(body["command_id"])

    async def outcome(self, printer_id: str, command_id: str) -> dict[str, Any]:
        """What became of a command, as the API tells it."""
        status, body = await self.call("GET", f"/v1/devices/{printer_id}/commands/{command_id}")
        assert status == 200, body
        return dict(body)

    async def pending(self, connector_id: str) -> set[str]:
        """The connector's commands the cloud still waits for an answer to."""
        status, body = await self.call("GET", f"/v1/devices/{connector_id}/commands")
        assert status == 200, body
        return {c["command_id"] for c in body["items"]}

    async def state(self, printer_id: str) -> str:
        """The printer's connection state as the API shows it, once it has capabilities
        when online."""
        status, body = await self.call("GET", f"/v1/printers/{printer_id}")
        assert status == 200, body
        ready = body["connection_state"] != "online" or body["capabilities_version"] >= 1
        return str(body["connection_state"]) if ready else "unknown"

    async def submit(self, printer_id: str, document: bytes) -> str:
        """A job for the printer (once the queues know its capabilities); its id."""
        job_id = ""

        async def accepted() -> bool:
            nonlocal job_id
            form = aiohttp.FormData()
            job = {"printer_id": printer_id, "title": "site", "settings": {}}
            form.add_field("job", json.dumps(job), content_type="application/json")
            form.add_field("document", document, content_type="application/pdf",
                           filename="d.pdf")  # fmt: skip
            status, body = await self.call("POST", "/v1/jobs", data=form)
            assert status in (201, 404, 409), body
            job_id = str(body["id"]) if status == 201 else ""
            return status == 201

        await until(accepted, f"a job accepted for {printer_id}")
        return job_id

    async def completed(self, job_id: str) -> bool:
        """Whether the job is completed (it must not end otherwise)."""
        status, body = await self.call("GET", f"/v1/jobs/{job_id}")
        assert status == 200, body
        assert body["state"] not in ("failed", "canceled", "expired"), body
        return body["state"] == "completed"


@pytest.fixture(scope="module")
async def cloud(infra: TestInfra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cloud]:
    """Every service as a process behind the edge, a tenant and its administrator."""
    workdir = tmp_path_factory.mktemp("connector")
    settings = {"queues": {"BLOB_DIR": str(workdir / "blobs")}}
    with system_bus() as bus:
        async with (
            running_platform(
                infra.bootstrap, infra.admin_dsn, workdir, settings=settings, edge=True
            ) as platform,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http,
        ):
            tenant = await new_tenant(http, platform)
            admin = await new_caller(http, platform, tenant, ["admin"], admin_scopes(), "Admin")
            yield Cloud(platform, http, tenant, admin, bus, workdir)


@contextlib.contextmanager
def site_printers(bus: dict[str, str], workdir: Path, names: list[str]) -> Iterator[Site]:
    """An ippeveprinter and a file endpoint per name, on ports chosen now, not started."""
    site = Site(bus, workdir, {}, {n: free_port_range() for n in names},
                {n: file_endpoint(workdir / f"{n}-files") for n in names})  # fmt: skip
    try:
        yield site
    finally:
        for printer in site.printers.values():
            printer.stop()
        for files in site.files.values():
            files.stop()


@dataclass
class Site:
    """Printers of a site network: each an ippeveprinter and its file endpoint."""

    bus: dict[str, str]
    workdir: Path
    printers: dict[str, IppPrinterProcess]
    ports: dict[str, int]
    files: dict[str, FileEndpoint]

    def uri(self, name: str) -> str:
        return f"ipp://127.0.0.1:{self.ports[name]}/ipp/print"

    def up(self, name: str, files_delay: float = 0.0) -> None:
        """Switch the printer and its file endpoint on."""
        self.printers[name] = start_ippeveprinter(
            self.bus, self.workdir / f"{name}-spool", command="/bin/true", port=self.ports[name]
        )
        self.files[name].start(files_delay)

    def spooled(self, name: str, job_id: str) -> list[Path]:
        """The documents of ``job_id`` the printer kept (not the .prn beside each)."""
        printer = self.printers.get(name)
        return [] if printer is None else [
            p for p in printer.documents(job_id) if p.suffix != ".prn"
        ]  # fmt: skip


def _template(text: str) -> dict[str, str]:
    import base64

    return {"name": "letterhead.pdf", "purpose": "template",
            "content_b64": base64.b64encode(minimal_pdf(text)).decode()}  # fmt: skip


async def test_a_connector_delivers_to_what_it_reaches_and_to_the_late_one_when_it_is_up(
    cloud: Cloud,
) -> None:
    names = ["a", "b", "late"]
    with site_printers(cloud.bus, cloud.workdir / "site1", names) as site:
        site.workdir.mkdir(parents=True, exist_ok=True)
        site.up("a")
        site.up("b")
        ids = {n: await cloud.printer(n) for n in names}
        devices = [{"printer_id": ids[n], "uri": site.uri(n), "files_uri": site.files[n].uri}
                   for n in names]  # fmt: skip
        connector_id, state = await cloud.connector(devices)
        agent = cloud.agent("site1", connector_id, state)
        try:
            cloud.start(agent)

            async def states() -> dict[str, str]:
                return {n: await cloud.state(ids[n]) for n in names}

            expected = {"a": "online", "b": "online", "late": "offline"}
            await until(lambda: _equal(states(), expected), "a, b online, late offline")

            documents = {n: minimal_pdf(f"for {n}") for n in names}
            jobs = {n: await cloud.submit(ids[n], documents[n]) for n in ("a", "b")}
            files = {n: await cloud.command(ids[n], "deliver_file", _template(n)) for n in names}
            settings = {"attributes": {"printer-location": "Floor 3"}}
            setting = await cloud.command(ids["late"], "apply_settings", settings)

            for n in ("a", "b"):
                await until(lambda j=jobs[n]: cloud.completed(j), f"job on {n} completed")
                (kept,) = site.spooled(n, jobs[n])
                assert kept.read_bytes() == documents[n]
                await until(lambda n=n: len(site.files[n].received()) == 1)
                assert site.files[n].received() == [(files[n], "template", "letterhead.pdf")]
                assert (site.files[n].spool / "template" / "letterhead.pdf").read_bytes() == (
                    minimal_pdf(n)
                )
            late = {files["late"], setting}
            await until(lambda: _equal(cloud.pending(connector_id), late), "late one's pending")
            assert await cloud.state(ids["late"]) == "offline"
            assert (await cloud.outcome(ids["late"], setting))["state"] == "pending"
            assert site.files["late"].received() == []

            site.up("late")
            await until(lambda: _equal(cloud.state(ids["late"]), "online"))
            await until(lambda: _equal(cloud.pending(connector_id), set()), "all answered")
            late_file = await cloud.outcome(ids["late"], files["late"])
            assert late_file["state"] == "done" and late_file["target_device_id"] == ids["late"]
            unsupported = await cloud.outcome(ids["late"], setting)  # ippeveprinter has none
            assert unsupported["state"] == "rejected", unsupported
            assert unsupported["detail"].startswith("unsupported: "), unsupported
            assert site.files["late"].received() == [(files["late"], "template", "letterhead.pdf")]
            for n in ("a", "b"):  # nothing went twice
                assert len(site.files[n].received()) == 1
                assert len(site.spooled(n, jobs[n])) == 1
        finally:
            agent.kill()


async def test_a_connector_killed_mid_delivery_resumes_without_sending_twice(
    cloud: Cloud,
) -> None:
    with site_printers(cloud.bus, cloud.workdir / "site2", ["slow"]) as site:
        site.workdir.mkdir(parents=True, exist_ok=True)
        site.up("slow", files_delay=4.0)  # each file is kept at once, answered seconds later
        printer_id = await cloud.printer("slow")
        devices = [{"printer_id": printer_id, "uri": site.uri("slow"),
                    "files_uri": site.files["slow"].uri}]  # fmt: skip
        connector_id, state = await cloud.connector(devices)
        agent = cloud.agent("site2", connector_id, state)
        try:
            cloud.start(agent)
            await until(lambda: _equal(cloud.state(printer_id), "online"))
            documents = [minimal_pdf(f"resume {i}") for i in range(3)]
            jobs = [await cloud.submit(printer_id, d) for d in documents]
            files = [await cloud.command(printer_id, "deliver_file", _template(f"r{i}"))
                     for i in range(3)]  # fmt: skip

            # The first file is at the printer, its answer not yet at the connector.
            await until(lambda: len(site.files["slow"].received()) >= 1)
            agent.kill()
            cloud.start(agent)

            await until(lambda: _equal(cloud.pending(connector_id), set()), "all answered")
            received = Counter(r[0] for r in site.files["slow"].received())
            assert received == Counter(files)  # each file once
            # The one cut short was found at the printer, not sent again.
            first = site.files["slow"].received()[0][0]
            assert _detail(state, first).endswith("(already there)")
            for job_id, document in zip(jobs, documents, strict=True):
                await until(lambda j=job_id: cloud.completed(j), f"job {job_id} completed")
                (kept,) = site.spooled("slow", job_id)  # printed once
                assert kept.read_bytes() == document
        finally:
            agent.kill()


def _detail(state: Path, command_id: str) -> str:
    """The outcome detail the connector's journal holds for a command."""
    db = sqlite3.connect(f"file:{state / 'journal.sqlite3'}?mode=ro", uri=True, timeout=10)
    try:
        row = db.execute("SELECT detail FROM commands WHERE command_id = ?", (command_id,))
        return str(row.fetchone()[0])
    finally:
        db.close()


async def until(check: Check, what: str = "the condition") -> None:
    """Wait for ``check``, polling the API no more than every half second."""
    await eventually(check, WAIT_S, what, interval=0.5)


async def _equal(found: Awaitable[object], expected: object) -> bool:
    return await found == expected
