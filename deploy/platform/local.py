"""The whole platform on one machine: Kafka, Postgres, migrations, topics, services.

State (broker and database data, generated secrets, logs) lives under
``$PRINTCLOUD_HOME`` (default ``~/.local/share/printcloud``), outside any clone,
so a second start reuses it. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shared.crypto.sealing import new_key_text
from shared.http.identities import SERVICE_GRANTS, callers_of, new_service_token, token_digest
from shared.infra.database import create_database, dsn_for, migrate_service, provision
from shared.infra.kafka import KafkaBroker
from shared.infra.postgres import PostgresServer
from shared.infra.processes import ServiceProcess
from shared.kafka.admin import ensure_topics
from shared.kafka.topics import TOPICS
from shared.settings import home

if TYPE_CHECKING:
    from shared.service import WorkerSpec

DATABASE = "printcloud"
KEY_FIELD = "key_encryption_key"
OPERATOR_TOKEN_FILE = "operator-token"


KAFKA_PORT_VAR = "PRINTCLOUD_LOCAL_KAFKA_PORT"
KAFKA_CONTROLLER_PORT_VAR = "PRINTCLOUD_LOCAL_KAFKA_CONTROLLER_PORT"
POSTGRES_PORT_VAR = "PRINTCLOUD_LOCAL_POSTGRES_PORT"
HTTP_PORT_VAR = "PRINTCLOUD_LOCAL_HTTP_PORT"
EDGE_PORT_VAR = "PRINTCLOUD_LOCAL_EDGE_PORT"


class PortTaken(RuntimeError):
    """A fixed port of the local platform is held by another process."""


@dataclass
class Ports:
    """Loopback ports of the local platform (override with PRINTCLOUD_LOCAL_*_PORT)."""

    kafka: int = int(os.environ.get("PRINTCLOUD_LOCAL_KAFKA_PORT", "19092"))
    kafka_controller: int = int(os.environ.get("PRINTCLOUD_LOCAL_KAFKA_CONTROLLER_PORT", "19093"))
    postgres: int = int(os.environ.get("PRINTCLOUD_LOCAL_POSTGRES_PORT", "15432"))
    first_service: int = int(os.environ.get("PRINTCLOUD_LOCAL_HTTP_PORT", "8081"))
    edge: int = int(os.environ.get("PRINTCLOUD_LOCAL_EDGE_PORT", "8080"))


def _bindable(port: int) -> bool:
    """Whether nothing listens on loopback ``port`` right now (bound as the servers bind
    it: a closed connection lingering in TIME_WAIT does not hold it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _write_private(path: Path, text: str) -> None:
    """Write ``path`` readable by its owner only (0600), whatever it was before."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _settings_fields(name: str) -> frozenset[str]:
    """The settings fields of service ``name`` (none for a name outside ``SERVICES``)."""
    from deploy.catalog import SERVICES, load_spec

    if name not in SERVICES:
        return frozenset()
    return frozenset(load_spec(name).settings_cls.model_fields)


def _secrets(path: Path, services: Sequence[str]) -> dict[str, object]:
    data: dict[str, object] = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault("operator_token", "pc_op_" + secrets.token_urlsafe(24))
    for name in services:  # e.g. auth_key_encryption_key: the key sealing its secrets at rest
        if KEY_FIELD in _settings_fields(name):
            data.setdefault(f"{name}_{KEY_FIELD}", new_key_text())
    roles = data.setdefault("roles", {})
    assert isinstance(roles, dict)
    for name in services:
        roles.setdefault(name, secrets.token_urlsafe(18))
    # One identity per service that calls another: its own token, never the operator's.
    tokens = data.setdefault("service_tokens", {})
    assert isinstance(tokens, dict)
    for name in SERVICE_GRANTS:
        tokens.setdefault(name, new_service_token(name))
    _write_private(path, json.dumps(data, indent=2))
    _write_private(path.with_name(OPERATOR_TOKEN_FILE), f"{data['operator_token']}\n")
    return data


@dataclass
class LocalPlatform:
    """Starts and stops the local platform; ``services`` maps name -> module."""

    services: dict[str, str]
    databases: list[str]
    root: Path = field(default_factory=home)
    ports: Ports = field(default_factory=Ports)
    processes: list[ServiceProcess] = field(default_factory=list)
    _worker_ports: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        logs = self.root / "logs"
        self.kafka = KafkaBroker(
            data_dir=self.root / "kafka",
            port=self.ports.kafka,
            controller_port=self.ports.kafka_controller,
            log_file=logs / "kafka.log",
        )
        self.postgres = PostgresServer(
            data_dir=self.root / "postgres",
            port=self.ports.postgres,
            log_file=logs / "postgres.log",
        )
        self.secrets = _secrets(self.root / "secrets.json", self.databases)

    @property
    def operator_token(self) -> str:
        """The bootstrap operator's bearer token."""
        return str(self.secrets["operator_token"])

    @property
    def operator_token_file(self) -> Path:
        """Where the operator token is kept on its own (mode 0600): ``cat`` it."""
        return self.root / OPERATOR_TOKEN_FILE

    def service_dsn(self, name: str) -> str:
        """The DSN of a service's own role."""
        roles = self.secrets["roles"]
        assert isinstance(roles, dict)
        return dsn_for(
            self.postgres.admin_dsn(), user=name, password=roles[name], database=DATABASE
        )

    def port_of(self, name: str) -> int:
        """The loopback HTTP port of a service (in the order of the table)."""
        return self.ports.first_service + list(self.services).index(name)

    @property
    def portal_url(self) -> str:
        """Where a browser opens the portal: its own port on ``localhost`` (a passkey's
        relying party is a host name, never an IP address)."""
        return f"http://localhost:{self.port_of('portal')}"

    def service_env(self, name: str) -> dict[str, str]:
        """The environment of one service process: how it reaches Kafka, its database
        and the other services it talks to."""
        prefix = f"PRINTCLOUD_{name.upper()}_"
        env = {
            **self.kafka.access(name).environment(prefix),
            prefix + "HTTP_PORT": str(self.port_of(name)),
        }
        if name in self.databases:
            # Services with an API (and a schema) of their own verify the operator token
            # by its digest: none of them holds the token. The gateway serves devices only.
            env[prefix + "OPERATOR_TOKEN_SHA256"] = token_digest(self.operator_token)
        env.update(self.identity_env(name))
        if name in self.databases:
            env[prefix + "DATABASE_URL"] = self.service_dsn(name)
        fields = _settings_fields(name)
        key = self.secrets.get(f"{name}_{KEY_FIELD}")
        if KEY_FIELD in fields and key:
            env[prefix + KEY_FIELD.upper()] = str(key)
        if "public_url" in fields and name != "gateway":
            # One public base URL: claim links, document downloads, phone-login codes
            # and supplier callbacks all name the edge, never a service's own port.
            env[prefix + "PUBLIC_URL"] = self.base_url
        if "api_url" in fields:
            # The IPP endpoint speaks to the platform only through its public API.
            env[prefix + "API_URL"] = self.base_url
        if "blob_dir" in fields:
            env[prefix + "BLOB_DIR"] = str(self.root / "blobs")
        if name != "auth" and "auth" in self.services and name in self.databases:
            env[prefix + "AUTH_JWKS_URL"] = (
                f"http://127.0.0.1:{self.port_of('auth')}/.well-known/jwks.json"
            )
        if name == "portal":
            env[prefix + "PORTAL_URL"] = self.portal_url
        if name == "auth" and "portal" in self.services:
            # Passkeys are made for the portal's host and used from its pages only.
            env[prefix + "PASSKEY_ORIGINS"] = json.dumps([self.portal_url])
        if name == "registry" and "gateway" in self.services:
            env[prefix + "GATEWAY_URL"] = self.gateway_url
        if name == "gateway":
            env[prefix + "REGISTRY_URL"] = f"http://127.0.0.1:{self.port_of('registry')}"
        return env

    def service_token(self, name: str) -> str | None:
        """Service ``name``'s own token, if its grant lets it call another service."""
        tokens = self.secrets.get("service_tokens", {})
        assert isinstance(tokens, dict)
        return tokens.get(name) if name in SERVICE_GRANTS else None

    def identity_env(self, name: str) -> dict[str, str]:
        """Service ``name``'s own token (a caller), and the digests of the services that
        may call it (a callee): nothing more."""
        prefix = f"PRINTCLOUD_{name.upper()}_"
        env = {}
        token = self.service_token(name)
        if token:
            env[prefix + "SERVICE_TOKEN"] = token
        callers = {}
        for caller in callers_of(name):
            caller_token = self.service_token(caller)
            if caller in self.services and caller_token:
                callers[caller] = token_digest(caller_token)
        if callers:
            env[prefix + "SERVICE_IDENTITIES"] = json.dumps(callers)
        return env

    def start_infra(self) -> None:
        """Kafka and Postgres, started and waited for, once every fixed port of the
        platform is known to be free (:class:`PortTaken` otherwise)."""
        self.check_ports()
        self.postgres.start()
        self.kafka.start()

    async def prepare(self, migrations: dict[str, Path | None]) -> None:
        """Database, roles, schemas, migrations and topics (all idempotent); the broker
        gave each service's Kafka user its ACLs when it started."""
        await create_database(self.postgres.admin_dsn(), DATABASE)
        roles = self.secrets["roles"]
        assert isinstance(roles, dict)
        await provision(self.postgres.admin_dsn(DATABASE), {n: roles[n] for n in self.databases})
        for name, directory in migrations.items():
            await migrate_service(self.service_dsn(name), name, directory)
        await ensure_topics(self.kafka.access(), TOPICS)

    def workers(self) -> dict[str, tuple[str, WorkerSpec]]:
        """The services' worker processes: ``<service>-<worker>`` -> (service, spec)."""
        from deploy.catalog import SERVICES, load_spec

        return {
            f"{name}-{worker}": (name, spec)
            for name in self.services
            if name in SERVICES
            for worker, spec in load_spec(name).workers.items()
        }

    def worker_port(self, full_name: str) -> int:
        """The loopback port of a worker's /metrics: the next after the services' ports
        (fixed, like every other port: :meth:`check_ports` says when it is taken)."""
        if full_name not in self._worker_ports:
            wanted = self.ports.first_service + len(self.services)
            wanted += list(self.workers()).index(full_name)
            self._worker_ports[full_name] = wanted
        return self._worker_ports[full_name]

    def fixed_ports(self) -> list[tuple[str, int, str]]:
        """Every loopback port the platform listens on: (what, port, the variable that
        moves it), in the order they start."""
        rows = [
            ("postgres", self.ports.postgres, POSTGRES_PORT_VAR),
            ("kafka", self.ports.kafka, KAFKA_PORT_VAR),
            ("kafka controller", self.ports.kafka_controller, KAFKA_CONTROLLER_PORT_VAR),
        ]
        rows += [(name, self.port_of(name), HTTP_PORT_VAR) for name in self.services]
        rows += [
            (full_name, self.worker_port(full_name), HTTP_PORT_VAR)
            for full_name, (_, spec) in self.workers().items()
            if spec.metrics_port_field
        ]
        rows.append(("edge", self.ports.edge, EDGE_PORT_VAR))
        return rows

    def check_ports(self) -> None:
        """Raise :class:`PortTaken` naming each taken port and the variable to set."""
        taken = [(what, port, var) for what, port, var in self.fixed_ports() if not _bindable(port)]
        if not taken:
            return
        lines = [f"port {port} ({what}) is taken on 127.0.0.1" for what, port, _ in taken]
        http = [port for what, port, var in self.fixed_ports() if var == HTTP_PORT_VAR]
        advice = []
        for var in dict.fromkeys(var for _, _, var in taken):
            if var == HTTP_PORT_VAR:
                advice.append(
                    f"{var}=<first port> (the services and workers take {len(http)} ports "
                    f"in a row from it, now {min(http)}-{max(http)})"
                )
            else:
                advice.append(f"{var}=<another port>")
        raise PortTaken(
            "; ".join(lines)
            + ". Another platform may be running (stop it with Ctrl-C), or something else "
            + "holds the port (`ss -ltnp` shows what). To use other ports, set "
            + " and ".join(advice)
            + "."
        )

    def worker_env(self, full_name: str) -> dict[str, str]:
        """A worker's environment: the service's prefix, Kafka, its database when it
        uses one, its data directory and metrics port when it has them."""
        name, spec = self.workers()[full_name]
        prefix = f"PRINTCLOUD_{name.upper()}_"
        env = self.kafka.access(name).environment(prefix)
        if spec.uses_database:
            env[prefix + "DATABASE_URL"] = self.service_dsn(name)
        if spec.data_dir_field:
            data = self.root / "workers" / full_name
            data.mkdir(parents=True, exist_ok=True)
            env[prefix + spec.data_dir_field.upper()] = str(data)
        if spec.metrics_port_field:
            env[prefix + spec.metrics_port_field.upper()] = str(self.worker_port(full_name))
        return env

    def start_services(self) -> None:
        """Every service and worker as its own process, waited for until ready; then
        the edge."""
        started = []
        for name, module in self.services.items():
            log = self.root / "logs" / f"{name}.log"
            proc = ServiceProcess(name, module, self.service_env(name), log, self.port_of(name))
            proc.start()
            started.append(proc)
        for full_name, (_, spec) in self.workers().items():
            log = self.root / "logs" / f"{full_name}.log"
            port = self.worker_port(full_name) if spec.metrics_port_field else None
            proc = ServiceProcess(
                full_name, spec.module, self.worker_env(full_name), log, port,
                args=list(spec.args), ready_path="/metrics",
            )  # fmt: skip
            proc.start()
            started.append(proc)
        self.processes.extend(started)
        for proc in started:
            proc.wait_ready()
        self.start_edge()

    def restart_exited(self) -> list[str]:
        """Start again every process that exited on its own; their names."""
        restarted = []
        for proc in self.processes:
            if proc.proc is not None and not proc.is_running():
                code = proc.proc.returncode
                proc.start()
                restarted.append(f"{proc.name} (exit code {code})")
        return restarted

    def edge_env(self) -> dict[str, str]:
        """The edge's environment: its port, every service's loopback URL and the OpenAPI
        document of the platform (written under the platform's directory)."""
        from deploy.apidocs.openapi import document_json

        upstreams = {name: f"http://127.0.0.1:{self.port_of(name)}" for name in self.services}
        openapi = self.root / "openapi.json"
        openapi.write_bytes(document_json())
        return {
            "PRINTCLOUD_EDGE_HTTP_PORT": str(self.ports.edge),
            "PRINTCLOUD_EDGE_UPSTREAMS": json.dumps(upstreams),
            "PRINTCLOUD_EDGE_OPENAPI_FILE": str(openapi),
        }

    def start_edge(self) -> None:
        """The one public base URL in front of the services, waited for."""
        log = self.root / "logs" / "edge.log"
        proc = ServiceProcess(
            "edge", "services.edge", self.edge_env(), log, self.ports.edge, ready_path="/healthz"
        )
        proc.start()
        self.processes.append(proc)
        proc.wait_ready()

    @property
    def base_url(self) -> str:
        """The public base URL (the edge)."""
        return f"http://127.0.0.1:{self.ports.edge}"

    @property
    def gateway_url(self) -> str:
        """Where devices connect."""
        return f"ws://127.0.0.1:{self.port_of('gateway')}/v1/devices/ws"

    @property
    def demo_state(self) -> Path:
        """The demo printer's state directory (identity, journal, spool)."""
        return self.root / "demo-printer"

    @property
    def demo_user_file(self) -> Path:
        """Where the demo user's API token is kept (mode 0600)."""
        return self.root / "demo-user.json"

    @property
    def demo_spool(self) -> Path:
        """Where the demo printer's jobs land."""
        return self.demo_state / "spool"

    async def start_demo_printer(self) -> str:
        """Onboard (first time) and start the demo printer agent; describes it."""
        from deploy.platform.demo import agent_process, onboard

        state = self.demo_state
        registry_url = f"http://127.0.0.1:{self.port_of('registry')}"
        device_id = await onboard(registry_url, self.operator_token, state)
        log = self.root / "logs" / "demo-agent.log"
        proc = agent_process(state, self.gateway_url, self.base_url, log)
        proc.start()
        self.processes.append(proc)
        return f"{device_id} (simulator; jobs land in {self.demo_spool})"

    def stop(self) -> None:
        """Services, workers, the edge and the demo printer first (all told at once,
        each shutting down gracefully), then Kafka, then Postgres."""
        for proc in reversed(self.processes):
            proc.request_stop()
        for proc in reversed(self.processes):
            proc.terminate()
        self.processes.clear()
        self.kafka.stop()
        self.postgres.stop()
