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
import secrets
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import aiohttp
from aiohttp import web

from services import SERVICES, database_services, load_spec
from shared.infra.database import create_database, prepare_service, with_database
from shared.infra.local import LocalPlatform, Ports
from shared.infra.processes import ServiceProcess
from shared.kafka.admin import ensure_topics
from shared.kafka.topics import TOPICS
from shared.service import create_app
from shared.settings import ProcessSettings


def _consecutive_free_ports(count: int) -> int:
    """The first of ``count`` consecutive loopback ports free right now."""
    for _ in range(50):
        base = secrets.randbelow(20000) + 30000
        try:
            with contextlib.ExitStack() as stack:
                for port in range(base, base + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class Platform:
    """Running service processes, their logs and the operator token."""

    operator_token: str
    log_dir: Path
    env: dict[str, dict[str, str]]
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

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

    def pid(self, name: str) -> int:
        proc = self.processes[name].proc
        assert proc is not None
        return proc.pid

    def logs(self) -> list[Path]:
        """Every log file the run wrote."""
        return sorted(p for p in self.log_dir.rglob("*") if p.is_file())

    def stop(self) -> None:
        for proc in reversed(list(self.processes.values())):
            proc.terminate()


async def prepare_platform(bootstrap: str, admin_dsn: str, workdir: Path) -> Platform:
    """Database, roles, schemas, migrations and topics; the environment of each process."""
    base = _consecutive_free_ports(len(SERVICES))
    local = LocalPlatform(
        {n: f"services.{n}" for n in SERVICES},
        database_services(),
        root=workdir / "platform",
        ports=Ports(first_service=base),
    )
    local.kafka = SimpleNamespace(bootstrap=bootstrap)  # type: ignore[assignment]
    await ensure_topics(bootstrap, TOPICS)
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
    return Platform(local.operator_token, workdir / "logs", env)


@contextlib.asynccontextmanager
async def running_platform(
    bootstrap: str, admin_dsn: str, workdir: Path, *, timeout: float = 120
) -> AsyncIterator[Platform]:
    """Start every service as a process, wait until all are ready; stop them after."""
    platform = await prepare_platform(bootstrap, admin_dsn, workdir)
    try:
        for name in SERVICES:
            prefix = f"PRINTCLOUD_{name.upper()}_"
            port = int(platform.env[name][prefix + "HTTP_PORT"])
            proc = ServiceProcess(
                name, f"services.{name}", platform.env[name], platform.log_dir / f"{name}.log",
                port,
            )  # fmt: skip
            platform.processes[name] = proc
            proc.start()
        for proc in platform.processes.values():
            await asyncio.to_thread(proc.wait_ready, timeout)
        yield platform
    finally:
        await asyncio.to_thread(platform.stop)


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
) -> Caller:
    """A person of ``tenant_id`` with ``roles``, an API token with ``scopes`` and an
    access token, all through auth's HTTP API."""
    auth = platform.url("auth")
    body = {"tenant_id": tenant_id, "display_name": "Ada", "roles": roles,
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
