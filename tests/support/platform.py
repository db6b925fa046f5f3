"""Every service of ``SERVICES`` as its own process, on the run's Kafka and Postgres.

The environment of each process is the local platform's (``LocalPlatform.service_env``:
how a service reaches Kafka, auth's keys, the other services), except that each
database service gets its own fresh role and schema, so runs never share state. A
service added to ``SERVICES`` is started here too, with nothing to change.

Also: the routes each service serves (read from its app, built but not started), and
users and tokens made through auth's real HTTP API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aiohttp
from aiohttp import web

from deploy.apidocs.openapi import document_json
from deploy.catalog import SERVICES, database_services, load_spec
from deploy.platform.local import LocalPlatform, Ports
from shared.infra.database import create_database, prepare_service, with_database
from shared.infra.kafka import free_port_range
from shared.infra.processes import ServiceProcess
from shared.kafka.admin import ensure_topics
from shared.kafka.topics import TOPICS
from shared.service import ConsumerSpec, Runtime, create_app
from shared.settings import ProcessSettings
from tests.support.kafka import ExportedKafka, kafka_options, operator


@dataclass
class Platform:
    """Running service processes, their logs and the operator token."""

    operator_token: str
    log_dir: Path
    env: dict[str, dict[str, str]]
    processes: dict[str, ServiceProcess] = field(default_factory=dict)
    edge: ServiceProcess | None = None

    def url(self, name: str) -> str:
        """A service's base URL."""
        return f"http://127.0.0.1:{self.processes[name].http_port}"

    @property
    def ws_url(self) -> str:
        """Where devices connect."""
        return self.url("gateway").replace("http://", "ws://") + "/v1/devices/ws"

    @property
    def operator(self) -> dict[str, str]:
        """The operator's Authorization header."""
        return {"Authorization": f"Bearer {self.operator_token}"}

    def settings(self, name: str) -> ProcessSettings:
        """The settings the service's process runs with."""
        prefix = f"PRINTCLOUD_{name.upper()}_"
        values = {k[len(prefix) :].lower(): v for k, v in self.env[name].items()}
        return load_spec(name).settings_cls(**values)

    def app(self, name: str) -> web.Application:
        """The service's app as its process builds it (not started)."""
        spec = load_spec(name)
        settings = self.settings(name)
        if spec.app_factory is not None:
            return spec.app_factory(settings)
        return create_app(spec, settings)  # type: ignore[arg-type]

    def served_routes(self, name: str) -> set[tuple[str, str]]:
        """(method, path template) of every route the service serves, HEAD aside."""
        return {
            (r.method, r.resource.canonical)
            for r in self.app(name).router.routes()
            if r.resource is not None and r.method not in ("HEAD", "*")
        }

    def schema(self, name: str) -> str:
        """The Postgres schema of a database service."""
        return self.env[name][f"PRINTCLOUD_{name.upper()}_DB_SCHEMA"]

    def dsn(self, name: str) -> str:
        """The DSN of a database service's own role."""
        return self.env[name][f"PRINTCLOUD_{name.upper()}_DATABASE_URL"]

    def consumers(self, name: str) -> list[ConsumerSpec]:
        """The service's consumer groups, as its process builds them (handlers are only
        built, never called, so no database pool is needed)."""
        spec = load_spec(name)
        if not spec.has_database:
            return []
        settings = self.settings(name)
        rt = Runtime(spec=spec, settings=settings, pool=None, schema=self.schema(name))  # type: ignore[arg-type]
        return list(spec.consumers(rt))

    def pid(self, name: str) -> int:
        proc = self.processes[name].proc
        assert proc is not None
        return proc.pid

    def logs(self) -> list[Path]:
        """Every log file the run wrote."""
        return sorted(p for p in self.log_dir.rglob("*") if p.is_file())

    @property
    def base_url(self) -> str:
        """The public base URL: the edge in front of every service."""
        assert self.edge is not None and self.edge.http_port is not None, "started without edge"
        return f"http://127.0.0.1:{self.edge.http_port}"

    @property
    def edge_ws_url(self) -> str:
        """Where devices connect through the edge."""
        return self.base_url.replace("http://", "ws://") + "/v1/devices/ws"

    def process(self, name: str) -> ServiceProcess:
        """A new (not started) process for service ``name`` with its environment."""
        prefix = f"PRINTCLOUD_{name.upper()}_"
        port = int(self.env[name][prefix + "HTTP_PORT"])
        log = self.log_dir / f"{name}.log"
        return ServiceProcess(name, f"services.{name}", self.env[name], log, port)

    def kill(self, name: str) -> None:
        """SIGKILL a service's process, as a crash would."""
        self.processes[name].kill()

    async def restart(self, name: str, timeout: float = 120, **settings: str) -> None:
        """Stop the service (gracefully, unless it is dead already), change its settings
        (``HELD_JOB_TTL_S="5"``, without the prefix) and start it again on the same port."""
        prefix = f"PRINTCLOUD_{name.upper()}_"
        await asyncio.to_thread(self.processes[name].terminate)
        self.env[name].update({prefix + k.upper(): v for k, v in settings.items()})
        proc = self.processes[name] = self.process(name)
        proc.start()
        await asyncio.to_thread(proc.wait_ready, timeout)

    def stop(self) -> None:
        """Every process terminated at once (each waited for, SIGKILL if it overruns)."""
        procs = [*([self.edge] if self.edge else []), *reversed(list(self.processes.values()))]
        with ThreadPoolExecutor(max(1, len(procs))) as pool:
            list(pool.map(lambda p: p.terminate(), procs))


async def prepare_platform(bootstrap: str, admin_dsn: str, workdir: Path) -> Platform:
    """Database, roles, schemas, migrations and topics; the environment of each process."""
    base = free_port_range(len(SERVICES))
    local = LocalPlatform(
        {n: f"services.{n}" for n in SERVICES},
        database_services(),
        root=workdir / "platform",
        ports=Ports(first_service=base),
    )
    local.kafka = ExportedKafka(bootstrap)  # type: ignore[assignment]
    await ensure_topics(operator(bootstrap), TOPICS)
    database = f"printcloud_fuzz_{secrets.token_hex(4)}"
    await create_database(admin_dsn, database)
    dsn = with_database(admin_dsn, database)
    env: dict[str, dict[str, str]] = {}
    for name in SERVICES:
        prefix = f"PRINTCLOUD_{name.upper()}_"
        env[name] = {**local.service_env(name), prefix + "SHUTDOWN_GRACE_S": "0"}
        if name in local.databases:
            schema = f"{name}_{secrets.token_hex(4)}"
            service_dsn = await prepare_service(dsn, schema, load_spec(name).migrations_dir)
            env[name][prefix + "DATABASE_URL"] = service_dsn
            env[name][prefix + "DB_SCHEMA"] = schema
    platform = Platform(local.operator_token, workdir / "logs", env)
    await _start_groups_at_the_end(platform, bootstrap)
    return platform


async def partitions(bootstrap: str, topics: Iterable[str]) -> list[Any]:
    """Every partition of ``topics`` (TopicPartition)."""
    from aiokafka import TopicPartition
    from aiokafka.client import AIOKafkaClient

    client = AIOKafkaClient(**kafka_options(bootstrap))
    await client.bootstrap()
    try:
        metadata = await client.fetch_all_metadata()
        return [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(metadata.partitions_for_topic(t) or ())
        ]
    finally:
        await client.close()


async def _start_groups_at_the_end(platform: Platform, bootstrap: str) -> None:
    """Commit every consumer group's offsets at the current end of its topics, so the
    fresh services read what this run produces, not every earlier run's history."""
    from aiokafka import AIOKafkaConsumer

    for name in platform.env:
        for spec in platform.consumers(name):
            consumer = AIOKafkaConsumer(
                **kafka_options(bootstrap), group_id=spec.name, enable_auto_commit=False
            )
            await consumer.start()
            try:
                parts = await partitions(bootstrap, spec.topics)
                ends = await consumer.end_offsets(parts)
                consumer.assign(parts)
                await consumer.commit({tp: off for tp, off in ends.items()})
            finally:
                await consumer.stop()


def started_services() -> list[str]:
    """Every service, or those named in ``PRINTCLOUD_TEST_SERVICES`` (comma-separated),
    to look at a few while another does not start."""
    only = os.environ.get("PRINTCLOUD_TEST_SERVICES")
    return [n for n in SERVICES if not only or n in only.split(",")]


@contextlib.asynccontextmanager
async def running_platform(
    bootstrap: str,
    admin_dsn: str,
    workdir: Path,
    *,
    timeout: float = 120,
    settings: dict[str, dict[str, str]] | None = None,
    edge: bool = False,
) -> AsyncIterator[Platform]:
    """Start every service as a process, wait until all are ready; stop them after.

    ``settings`` adds to a service's environment (``{"queues": {"HELD_JOB_TTL_S": "5"}}``,
    names without the prefix). With ``edge`` the edge router runs in front of them and
    is the public base URL services give out (document links, login codes, claims)."""
    platform = await prepare_platform(bootstrap, admin_dsn, workdir)
    if edge:
        _with_edge(platform)
    for name, values in (settings or {}).items():
        prefix = f"PRINTCLOUD_{name.upper()}_"
        platform.env[name].update({prefix + k.upper(): v for k, v in values.items()})
    try:
        for name in started_services():
            proc = platform.processes[name] = platform.process(name)
            proc.start()
        if platform.edge is not None:
            platform.edge.start()
        for proc in [*platform.processes.values(), *([platform.edge] if platform.edge else [])]:
            await asyncio.to_thread(proc.wait_ready, timeout)
        yield platform
    finally:
        await asyncio.to_thread(platform.stop)


def _with_edge(platform: Platform) -> None:
    """The edge process (not started) and every service told the public base URL."""
    port = free_port_range(1)
    upstreams = {
        name: f"http://127.0.0.1:{platform.env[name][f'PRINTCLOUD_{name.upper()}_HTTP_PORT']}"
        for name in platform.env
    }
    platform.log_dir.mkdir(parents=True, exist_ok=True)
    openapi = platform.log_dir / "openapi.json"
    openapi.write_bytes(document_json())
    env = {"PRINTCLOUD_EDGE_HTTP_PORT": str(port),
           "PRINTCLOUD_EDGE_UPSTREAMS": json.dumps(upstreams),
           "PRINTCLOUD_EDGE_OPENAPI_FILE": str(openapi)}  # fmt: skip
    platform.edge = ServiceProcess(
        "edge", "services.edge", env, platform.log_dir / "edge.log", port, ready_path="/healthz"
    )
    base = f"http://127.0.0.1:{port}"
    for name in ("registry", "auth", "queues"):
        if name in platform.env:
            platform.env[name][f"PRINTCLOUD_{name.upper()}_PUBLIC_URL"] = base
    for name in ("ipp", "portal"):  # these call the public API through the edge
        if name in platform.env:
            platform.env[name][f"PRINTCLOUD_{name.upper()}_API_URL"] = base
    if "registry" in platform.env:
        platform.env["registry"]["PRINTCLOUD_REGISTRY_GATEWAY_URL"] = platform.edge_ws_url


# ---------------------------------------------------------------- people and tokens


@dataclass(frozen=True)
class Caller:
    """A user of a tenant with an API token and an access token made from it."""

    tenant_id: str
    user_id: str
    api_token: str
    api_token_id: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def new_tenant(http: aiohttp.ClientSession, platform: Platform) -> str:
    """A tenant made by the operator in the registry; its id."""
    resp = await http.post(
        platform.url("registry") + "/v1/tenants",
        json={"name": f"Tenant {uuid.uuid4().hex[:8]}"},
        headers=platform.operator,
    )
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["id"])


async def new_caller(
    http: aiohttp.ClientSession,
    platform: Platform,
    tenant_id: str,
    roles: list[str],
    scopes: list[str],
    display_name: str = "Ada",
) -> Caller:
    """A person of ``tenant_id`` with ``roles``, an API token with ``scopes`` and an
    access token, all through auth's HTTP API."""
    auth = platform.url("auth")
    body = {"tenant_id": tenant_id, "display_name": display_name, "roles": roles,
            "email": f"ada-{uuid.uuid4().hex[:8]}@example.com"}  # fmt: skip
    resp = await http.post(auth + "/v1/users", json=body, headers=platform.operator)
    assert resp.status == 201, await resp.text()
    user = await resp.json()
    resp = await http.post(
        f"{auth}/v1/users/{user['id']}/api-tokens",
        json={"name": "fuzz", "scopes": scopes},
        headers=platform.operator,
    )
    assert resp.status == 201, await resp.text()
    token = await resp.json()
    resp = await http.post(
        auth + "/v1/token", json={"grant_type": "api_token", "api_token": token["token"]}
    )
    assert resp.status == 200, await resp.text()
    access = (await resp.json())["access_token"]
    return Caller(tenant_id, user["id"], token["token"], token["id"], access)


def admin_scopes() -> list[str]:
    """Every scope a tenant administrator may hold (auth's own table, so new scopes
    are included as they are declared)."""
    from services.auth.domain.model import ROLE_SCOPES

    return sorted(ROLE_SCOPES["admin"])


# ---------------------------------------------------------------- printers with real agents


@dataclass
class AgentPrinter:
    """A printer onboarded through the registry's real API, served by a real agent
    process: a simulator printing into ``spool``, or a bridge to a real IPP printer."""

    name: str
    device_id: str
    state: Path
    args: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    spool: Path | None = None
    ipp: Any = None  # shared.testing.ipp.IppPrinterProcess for a bridge
    agent: ServiceProcess | None = None

    def start(self, gateway_url: str, api_url: str) -> None:
        """Start the agent process (``run``)."""
        args = ["run", "--state", str(self.state), "--gateway", gateway_url,
                "--api-url", api_url, *self.args]  # fmt: skip
        self.agent = ServiceProcess(
            f"agent-{self.name}", "services.agent", self.env, self.log, args=args
        )
        self.agent.start()

    def stop(self) -> None:
        """SIGTERM: the agent finishes what it prints, says goodbye and exits."""
        if self.agent is not None:
            self.agent.terminate(30)

    def kill(self) -> None:
        if self.agent is not None:
            self.agent.kill()

    @property
    def running(self) -> bool:
        return self.agent is not None and self.agent.is_running()

    def journal(self) -> dict[str, tuple[str, float]]:
        """job id -> (state, when) from the agent's journal (read while it runs)."""
        import sqlite3

        path = self.state / "journal.sqlite3"
        if not path.exists():
            return {}
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            rows = db.execute("SELECT job_id, state, updated_at FROM jobs").fetchall()
        finally:
            db.close()
        return {str(r[0]): (str(r[1]), float(r[2])) for r in rows}

    def printed(self) -> dict[str, float]:
        """job id -> when, for every job the journal holds as printed."""
        return {j: at for j, (state, at) in self.journal().items() if state == "printed"}

    def prints(self, job_id: str) -> int:
        """How often the printer got ``job_id``: the IPP printer's kept documents, or
        the simulator's "simulated print" log lines."""
        if self.ipp is not None:
            return len(self.spooled(job_id))
        return sum(
            1
            for line in self.log.read_text(errors="replace").splitlines()
            if job_id in line and "simulated print" in line
        )

    def spooled(self, job_id: str) -> list[Path]:
        """The documents of ``job_id`` at the printer."""
        if self.ipp is not None:  # a processing command leaves an empty .prn beside each
            return [p for p in self.ipp.documents(job_id) if p.suffix != ".prn"]
        assert self.spool is not None
        return sorted(self.spool.glob(f"{job_id}.*"))

    def panel(self) -> dict[str, Any]:
        """This printer's part of the agent's panel.json (waiting, sessions, login)."""
        path = self.state / "panel.json"
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text())
        except ValueError:  # replaced atomically, but be lenient with a reader race
            return {}
        return dict(data.get("printers", {}).get(self.device_id) or {})


async def onboard_printer(
    http: aiohttp.ClientSession,
    platform: Platform,
    tenant_id: str,
    state: Path,
    name: str,
    model: str = "Printcloud Test",
    kind: Literal["printer", "connector"] = "printer",
) -> str:
    """Register a device (a printer, or a connector) with the agent's own onboarding
    code (its key in ``state``) and claim it for ``tenant_id`` as the operator; its id."""
    import re

    from services.agent.onboarding import Registrar
    from services.agent.state import StateDir

    registry = platform.url("registry")
    codes: asyncio.Queue[str] = asyncio.Queue()

    def say(line: str) -> None:
        found = re.search(r"\b([A-Z2-9]{4}-[A-Z2-9]{4})\b", line)
        if found:
            codes.put_nowait(found.group(1))

    registrar = Registrar(registry, StateDir(state), kind, model, http, 0.3)
    waiting = asyncio.create_task(registrar.run(say))
    try:
        code = await asyncio.wait_for(codes.get(), 60)
        body = {"tenant_id": tenant_id, "claim_code": code, "name": name, "region": "eu-west"}
        resp = await http.post(
            registry + "/v1/registrations/claim", json=body, headers=platform.operator
        )
        assert resp.status == 201, await resp.text()
        identity = await asyncio.wait_for(waiting, 60)
    finally:
        waiting.cancel()
    return str(identity.device_id)
