"""The platform for benchmarks and chaos runs: every service as real processes on
this machine's loopback, on a real Kafka broker and a real Postgres server.

* Kafka and Postgres are either adopted (``PRINTCLOUD_TEST_KAFKA_BOOTSTRAP`` and
  ``PRINTCLOUD_TEST_ADMIN_DSN``, or the test run's) or started here, privately, in
  the run's directory (always for chaos runs, which kill them).
* Each run gets its own database and one schema per service (with its own role),
  so runs never share state; every consumer group starts at the current end of its
  topics, so a run reads only what it produces.
* Every service of ``SERVICES`` runs ``replicas`` times. With more than one replica
  a round-robin TCP balancer (``python -m bench.platform_harness balance``, one
  process for all services) listens on one port per service and spreads
  connections over the replicas that accept them; every URL the services, the
  edge, the devices and the clients use points at it.
* The edge (the one public base URL) sits in front of them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp

from deploy.catalog import SERVICES, database_services, load_spec
from deploy.platform.local import LocalPlatform, Ports
from shared.infra.database import create_database, prepare_service, with_database
from shared.infra.kafka import KafkaBroker, free_port
from shared.infra.postgres import PostgresServer
from shared.infra.processes import ServiceProcess
from shared.kafka.access import KafkaAccess
from shared.kafka.acls import ADMIN_USER
from shared.kafka.admin import ensure_topics
from shared.kafka.topics import TOPICS

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- Kafka and Postgres


@dataclass
class Infra:
    """The run's broker and database server; ``broker``/``postgres`` are set when this
    run started them (and so may kill and restart them)."""

    bootstrap: str
    admin_dsn: str
    broker: KafkaBroker | None = None
    postgres: PostgresServer | None = None
    adopted: Any = None

    @property
    def kafka(self) -> KafkaAccess:
        """The broker's super user."""
        return self.access()

    def access(self, user: str = ADMIN_USER) -> KafkaAccess:
        """How Kafka user ``user`` connects to the run's broker."""
        if self.broker is not None:
            return self.broker.access(user)
        if self.adopted is not None:
            access: KafkaAccess = self.adopted.access(user)
            return access
        return KafkaAccess(self.bootstrap)

    def stop(self) -> None:
        if self.broker is not None:
            self.broker.stop()
        if self.postgres is not None:
            self.postgres.stop()
        if self.adopted is not None:
            self.adopted.stop()


def own_infra(workdir: Path) -> Infra:
    """A private Kafka broker and Postgres server under ``workdir``, started."""
    postgres = PostgresServer(
        data_dir=workdir / "postgres", port=free_port(), log_file=workdir / "logs" / "postgres.log"
    )
    broker = KafkaBroker(
        data_dir=workdir / "kafka", port=free_port(), controller_port=free_port(),
        log_file=workdir / "logs" / "kafka.log",
    )  # fmt: skip
    infra = Infra(broker.bootstrap, "", broker, postgres)
    try:
        postgres.start()
        broker.start()
    except BaseException:
        infra.stop()
        raise
    infra.admin_dsn = postgres.admin_dsn()
    return infra


def adopted_infra() -> Infra:
    """The configured broker and server, else the test run's own (see shared.testing.infra)."""
    from shared.testing.infra import start_test_infra

    found = start_test_infra()
    return Infra(found.bootstrap, found.admin_dsn, adopted=found)


# ---------------------------------------------------------------------- the balancer


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(256 * 1024):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def balance(config: dict[str, list[int]]) -> None:
    """Listen on each port of ``config`` (listen port -> backend ports); each connection
    goes to the next backend that accepts it."""
    servers = []
    for listen, backends in config.items():
        turn = itertools.cycle(range(len(backends)))

        async def handle(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, b: list[int] = backends,
            t: Any = turn,
        ) -> None:  # fmt: skip
            first = next(t)
            for i in range(len(b)):
                port = b[(first + i) % len(b)]
                try:
                    up_r, up_w = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    continue
                await asyncio.gather(_pipe(reader, up_w), _pipe(up_r, writer))
                return
            writer.close()

        servers.append(await asyncio.start_server(handle, "127.0.0.1", int(listen), backlog=4096))
    print("ready", flush=True)
    await asyncio.Event().wait()


# ---------------------------------------------------------------------- the platform


@dataclass
class Replica:
    """One process of a service."""

    service: str
    index: int
    proc: ServiceProcess

    @property
    def label(self) -> str:
        return f"{self.service}-{self.index}"


@dataclass
class BenchPlatform:
    """Every service (``replicas`` processes each), the edge, and their environment."""

    infra: Infra
    workdir: Path
    replicas: int = 1
    log_level: str = "WARNING"
    extra_env: dict[str, dict[str, str]] = field(default_factory=dict)
    operator_token: str = field(default_factory=lambda: "pc_op_" + secrets.token_urlsafe(24))
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    processes: dict[str, list[Replica]] = field(default_factory=dict)
    front: dict[str, int] = field(default_factory=dict)  # service -> port clients use
    edge: ServiceProcess | None = None
    balancer: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The public base URL (the edge)."""
        assert self.edge is not None and self.edge.http_port is not None
        return f"http://127.0.0.1:{self.edge.http_port}"

    @property
    def gateway_url(self) -> str:
        """Where devices connect (the edge proxies websockets to the gateway)."""
        return self.base_url.replace("http://", "ws://") + "/v1/devices/ws"

    def url(self, service: str) -> str:
        """A service's own base URL (its balancer with several replicas)."""
        return f"http://127.0.0.1:{self.front[service]}"

    @property
    def operator(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.operator_token}"}

    # ------------------------------------------------------------------ prepare

    async def prepare(self) -> None:
        """Database, one schema and role per service, migrations, topics; environments."""
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        names = list(SERVICES)
        ports = {n: [free_port() for _ in range(self.replicas)] for n in names}
        self.front = {n: (free_port() if self.replicas > 1 else ports[n][0]) for n in names}
        edge_port = free_port()
        local = LocalPlatform(
            {n: f"services.{n}" for n in names}, database_services(),
            root=self.workdir / "platform", ports=Ports(first_service=free_port()),
        )  # fmt: skip
        local.kafka = self.infra  # type: ignore[assignment]
        local.secrets["operator_token"] = self.operator_token
        local.port_of = lambda name: self.front[name]  # type: ignore[method-assign]
        local.ports.edge = edge_port
        await ensure_topics(self.infra.kafka, TOPICS)
        database = f"printcloud_bench_{secrets.token_hex(4)}"
        await create_database(self.infra.admin_dsn, database)
        dsn = with_database(self.infra.admin_dsn, database)
        edge_url = f"http://127.0.0.1:{edge_port}"
        for name in names:
            prefix = f"PRINTCLOUD_{name.upper()}_"
            env = {
                **local.service_env(name),
                prefix + "SHUTDOWN_GRACE_S": "0",
                prefix + "LOG_LEVEL": self.log_level,
                prefix + "PUBLIC_URL": edge_url,
            }
            if name == "registry":
                env[prefix + "GATEWAY_URL"] = edge_url.replace("http://", "ws://") + (
                    "/v1/devices/ws"
                )
                env[prefix + "REGISTRATIONS_LIMIT"] = "1000000"
            if name == "queues":
                env[prefix + "BLOB_DIR"] = str(self.workdir / "blobs")
            if name in local.databases:
                schema = f"{name}_{secrets.token_hex(4)}"
                env[prefix + "DATABASE_URL"] = await prepare_service(
                    dsn, schema, load_spec(name).migrations_dir
                )
                env[prefix + "DB_SCHEMA"] = schema
            env.update(self.extra_env.get(name, {}))
            self.env[name] = env
            self.processes[name] = [
                Replica(name, i, self._process(name, i, port)) for i, port in enumerate(ports[name])
            ]
        await start_groups_at_the_end(self.infra.kafka, self._groups())
        upstreams = {n: self.url(n) for n in names}
        self.edge = ServiceProcess(
            "edge", "services.edge",
            {"PRINTCLOUD_EDGE_HTTP_PORT": str(edge_port),
             "PRINTCLOUD_EDGE_UPSTREAMS": json.dumps(upstreams),
             "PRINTCLOUD_EDGE_LOG_LEVEL": self.log_level},
            logs / "edge.log", edge_port, ready_path="/healthz",
        )  # fmt: skip

    def _process(self, name: str, index: int, port: int) -> ServiceProcess:
        env = {**self.env[name], f"PRINTCLOUD_{name.upper()}_HTTP_PORT": str(port)}
        if name == "gateway":
            env["PRINTCLOUD_GATEWAY_INSTANCE"] = f"gateway-{index}"
        log = self.workdir / "logs" / f"{name}-{index}.log"
        return ServiceProcess(name, f"services.{name}", env, log, port)

    def _groups(self) -> dict[str, list[str]]:
        """Every consumer group of every service -> its topics (built, never run)."""
        from shared.service import Runtime

        groups: dict[str, list[str]] = {}
        for name in SERVICES:
            spec = load_spec(name)
            if not spec.has_database:
                continue
            prefix = f"PRINTCLOUD_{name.upper()}_"
            values = {k[len(prefix) :].lower(): v for k, v in self.env[name].items()
                      if k.startswith(prefix)}  # fmt: skip
            with mock.patch.dict(os.environ, self.env[name]):  # parsed as the service would
                settings = spec.settings_cls()
            rt = Runtime(spec=spec, settings=settings, pool=None, schema=values["db_schema"])  # type: ignore[arg-type]
            for consumer in spec.consumers(rt):
                groups[consumer.name] = list(consumer.topics)
        return groups

    # ------------------------------------------------------------------ start, stop

    async def start(self, timeout: float = 120) -> None:
        """Balancer, every replica, then the edge; each waited for until ready."""
        if self.replicas > 1:
            config = {
                str(self.front[n]): [r.proc.http_port for r in reps]
                for n, reps in self.processes.items()
            }
            log = (self.workdir / "logs" / "balancer.log").open("ab")
            self.balancer = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited
                [sys.executable, "-m", "bench.platform_harness", "balance", json.dumps(config)],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
            assert self.balancer.stdout is not None
            line = await asyncio.to_thread(self.balancer.stdout.readline)
            if b"ready" not in line:
                raise RuntimeError("the balancer did not start")
        for reps in self.processes.values():
            for r in reps:
                r.proc.start()
        for reps in self.processes.values():
            for r in reps:
                await asyncio.to_thread(r.proc.wait_ready, timeout)
        assert self.edge is not None
        self.edge.start()
        await asyncio.to_thread(self.edge.wait_ready, timeout)

    def replicas_of(self, service: str) -> list[Replica]:
        return self.processes[service]

    def all_replicas(self) -> list[Replica]:
        return [r for reps in self.processes.values() for r in reps]

    def pids(self) -> dict[str, int]:
        """label -> pid of every running process (the edge included)."""
        out = {r.label: r.proc.proc.pid for r in self.all_replicas() if r.proc.proc is not None}
        if self.edge is not None and self.edge.proc is not None:
            out["edge"] = self.edge.proc.pid
        return out

    async def stop(self) -> None:
        """Every process (gracefully, in parallel), then the balancer."""
        procs = [r.proc for r in self.all_replicas()]
        if self.edge is not None:
            procs.insert(0, self.edge)
        await asyncio.gather(*(asyncio.to_thread(p.terminate, 20) for p in procs))
        if self.balancer is not None and self.balancer.poll() is None:
            self.balancer.send_signal(signal.SIGTERM)
            await asyncio.to_thread(self.balancer.wait, 10)


async def start_groups_at_the_end(kafka: KafkaAccess, groups: dict[str, list[str]]) -> None:
    """Commit each group's offsets at the current end of its topics, so fresh services
    read only what this run produces."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    for group, topics in groups.items():
        consumer = AIOKafkaConsumer(
            **kafka.client_options(), group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            parts = [
                TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
            ]
            if not parts:
                await consumer._client.force_metadata_update()
                parts = [
                    TopicPartition(t, p)
                    for t in topics
                    for p in consumer.partitions_for_topic(t) or ()
                ]
            ends = await consumer.end_offsets(parts)
            consumer.assign(parts)
            await consumer.commit(dict(ends))
        finally:
            await consumer.stop()


# ---------------------------------------------------------------------- people


@dataclass
class User:
    """A tenant's administrator and how they call the API."""

    base_url: str
    tenant_id: str
    user_id: str
    api_token: str
    access_token: str = ""
    refreshed: float = 0.0

    async def headers(self, http: aiohttp.ClientSession) -> dict[str, str]:
        """An Authorization header with a fresh enough access token."""
        if time.monotonic() - self.refreshed > 240:
            async with http.post(
                self.base_url + "/v1/token",
                json={"grant_type": "api_token", "api_token": self.api_token},
            ) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"no access token: {resp.status} {await resp.text()}")
                self.access_token = (await resp.json())["access_token"]
                self.refreshed = time.monotonic()
        return {"Authorization": f"Bearer {self.access_token}"}


async def new_tenant_admin(http: aiohttp.ClientSession, platform: BenchPlatform) -> User:
    """A tenant, its administrator and an API token, through the public API."""
    from services.auth.domain.model import ROLE_SCOPES

    base = platform.base_url
    async with http.post(
        base + "/v1/tenants", json={"name": f"Bench {uuid.uuid4().hex[:6]}"},
        headers=platform.operator,
    ) as resp:  # fmt: skip
        if resp.status != 201:
            raise RuntimeError(f"tenant: {resp.status} {await resp.text()}")
        tenant = (await resp.json())["id"]
    body = {"tenant_id": tenant, "display_name": "Bench admin", "roles": ["admin"],
            "email": f"bench-{uuid.uuid4().hex[:8]}@example.com"}  # fmt: skip
    async with http.post(base + "/v1/users", json=body, headers=platform.operator) as resp:
        if resp.status != 201:
            raise RuntimeError(f"user: {resp.status} {await resp.text()}")
        user = (await resp.json())["id"]
    async with http.post(
        f"{base}/v1/users/{user}/api-tokens",
        json={"name": "bench", "scopes": sorted(ROLE_SCOPES["admin"])},
        headers=platform.operator,
    ) as resp:
        if resp.status != 201:
            raise RuntimeError(f"api token: {resp.status} {await resp.text()}")
        token = (await resp.json())["token"]
    admin = User(base, tenant, user, token)
    await admin.headers(http)
    return admin


async def claim(
    http: aiohttp.ClientSession, platform: BenchPlatform, tenant_id: str, claim_code: str,
    name: str,
) -> str:  # fmt: skip
    """An administrator claims a registered device for ``tenant_id``; its device id."""
    body = {"tenant_id": tenant_id, "claim_code": claim_code, "name": name, "region": "local"}
    async with http.post(
        platform.base_url + "/v1/registrations/claim", json=body, headers=platform.operator
    ) as resp:
        if resp.status != 201:
            raise RuntimeError(f"claim: {resp.status} {await resp.text()}")
        return str((await resp.json())["device_id"])


async def onboard_agent(
    http: aiohttp.ClientSession, platform: BenchPlatform, tenant_id: str, state: Path, name: str
) -> str:
    """A real agent's state directory, registered online and claimed; its device id."""
    from services.agent.onboarding import Registrar
    from services.agent.state import StateDir

    directory = StateDir(state)
    codes: asyncio.Queue[str] = asyncio.Queue()
    registrar = Registrar(platform.base_url, directory, "printer", "Bench IPP", http, 0.3)

    def say(line: str) -> None:
        for word in line.split():
            if len(word) == 9 and word[4] == "-" and word.replace("-", "").isalnum():
                codes.put_nowait(word)

    waiting = asyncio.create_task(registrar.run(say))
    try:
        code = await asyncio.wait_for(codes.get(), 30)
        device_id = await claim(http, platform, tenant_id, code, name)
        await asyncio.wait_for(waiting, 30)
    finally:
        waiting.cancel()
    return device_id


def agent_process(
    platform: BenchPlatform, state: Path, log: Path, *args: str, jobs_interval: float = 30
) -> ServiceProcess:
    """The real agent (``python -m services.agent run``) against the platform's edge."""
    argv = [
        "run", "--state", str(state), "--gateway", platform.gateway_url,
        "--api-url", platform.base_url, "--jobs-interval", str(jobs_interval),
        "--log-level", "WARNING", "--no-login-qr", *args,
    ]  # fmt: skip
    return ServiceProcess(f"agent-{state.name}", "services.agent", {}, log, args=argv)


async def wait_printer_ready(
    http: aiohttp.ClientSession, platform: BenchPlatform, printer_id: str, timeout: float = 90
) -> None:
    """Until the printer is online with capabilities in the registry."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with http.get(
            f"{platform.base_url}/v1/printers/{printer_id}", headers=platform.operator
        ) as resp:
            if resp.status == 200:
                p = await resp.json()
                if p.get("connection_state") == "online" and p.get("capabilities_version", 0):
                    return
        await asyncio.sleep(0.3)
    raise RuntimeError(f"printer {printer_id} not online with capabilities in {timeout}s")


def rss_kib(pid: int, key: str = "VmRSS") -> int:
    """A process's resident memory (``VmRSS``) or its peak (``VmHWM``), KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "balance":
        asyncio.run(balance(json.loads(sys.argv[2])))
    else:
        raise SystemExit("usage: python -m bench.platform_harness balance '{port: [ports]}'")
