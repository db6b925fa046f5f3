"""What the deployment needs to know about each service, read from the code.

Nothing here is typed twice: names come from ``SERVICES``, configuration
variables from each service's settings class, public URL prefixes from its
router, consumer groups from its ``ServiceSpec.consumers`` and topics from
``TOPICS``.

Consumer groups without a running instance
-------------------------------------------
``ServiceSpec.consumers`` takes the service's ``Runtime`` because handlers may
close over it (its pool, its settings). The deployment only needs the group
names and their topics, so :func:`consumer_groups` calls it with a stand-in
runtime: ``schema`` is the service name (the schema every deployment uses),
``settings`` holds the settings class's defaults (the environment is not read)
and there is no pool or Kafka client. The convention that makes this work:
**a service's ``consumers(rt)`` builds its ``ConsumerSpec`` list from constants,
``rt.schema`` and settings defaults only, and touches nothing else of the
runtime until a handler runs.** A consumer whose name or topics depend on
anything else cannot be autoscaled on lag; :func:`consumer_groups` then fails
with the service's name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from shared.kafka.topics import TOPICS, TopicSpec
from shared.service import Runtime, ServiceSpec

API_HOST = "api.printcloud.example.com"
"""The public API's host in the generated Ingress and in the OpenAPI document's servers."""

HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class DeployError(RuntimeError):
    """The code's tables cannot be turned into a deployment as they are."""


@dataclass(frozen=True)
class ConsumerGroup:
    """A Kafka consumer group of a service and the topics it reads."""

    name: str
    topics: tuple[str, ...]


@dataclass(frozen=True)
class WorkerInfo:
    """A worker process of a service (``ServiceSpec.workers``) as the manifests see it:
    named ``<service>-<worker>``, configured by the service's settings prefix."""

    service: str
    name: str
    module: str
    args: tuple[str, ...]
    env_prefix: str
    description: str = ""
    uses_database: bool = False
    metrics_port: int | None = None
    metrics_port_field: str | None = None
    data_dir_field: str | None = None
    replication_field: str | None = None

    def env(self, field: str) -> str:
        """The environment variable of settings field ``field``."""
        return f"{self.env_prefix}{field.upper()}"


@dataclass(frozen=True)
class ServiceInfo:
    """One deployable service as the manifests see it."""

    name: str
    env_prefix: str
    http_port: int
    api_prefixes: tuple[str, ...]
    consumer_groups: tuple[ConsumerGroup, ...]
    settings_fields: frozenset[str] = frozenset()
    routes: tuple[str, ...] = ()
    secret_fields: tuple[str, ...] = ()
    workers: tuple[WorkerInfo, ...] = ()

    def env(self, field: str) -> str:
        """The environment variable of settings field ``field`` (``http_port`` ->
        ``PRINTCLOUD_REGISTRY_HTTP_PORT``)."""
        return f"{self.env_prefix}{field.upper()}"

    @property
    def has_database(self) -> bool:
        """Whether the service owns a Postgres schema (login role, migrations)."""
        return "database_url" in self.settings_fields

    @property
    def consumed_topics(self) -> tuple[str, ...]:
        """Every topic any of this service's consumer groups reads, sorted."""
        return tuple(sorted({t for g in self.consumer_groups for t in g.topics}))


def env_prefix(spec: ServiceSpec) -> str:
    """The settings class's environment prefix, e.g. ``PRINTCLOUD_REGISTRY_``."""
    prefix = spec.settings_cls.model_config.get("env_prefix")
    if not prefix or prefix == "PRINTCLOUD_":
        raise DeployError(
            f"{spec.name}: settings class {spec.settings_cls.__name__} needs its own "
            f"env_prefix (PRINTCLOUD_{spec.name.upper()}_)"
        )
    return str(prefix).upper()


def default_http_port(spec: ServiceSpec) -> int:
    """The HTTP port the service listens on unless configured otherwise."""
    return int(spec.settings_cls.model_fields["http_port"].default)


def routes(spec: ServiceSpec) -> tuple[str, ...]:
    """The canonical paths of the service's own routes (health endpoints excluded)."""
    from aiohttp import web

    if spec.add_routes is None:
        return ()
    app = web.Application()
    spec.add_routes(app)
    paths = {r.canonical for r in app.router.resources()} - HEALTH_PATHS
    return tuple(sorted(paths))


def api_prefixes(spec: ServiceSpec) -> tuple[str, ...]:
    """The public URL prefixes the service's router serves (first two path segments
    of every route: ``/v1/printers/{id}`` -> ``/v1/printers``), sorted."""
    prefixes: set[str] = set()
    for path in routes(spec):
        segments = [s for s in path.split("/") if s]
        literal: list[str] = []
        for segment in segments[:2]:
            if "{" in segment:
                break
            literal.append(segment)
        if not literal:
            raise DeployError(f"{spec.name}: route {path!r} has no literal prefix to route on")
        prefixes.add("/" + "/".join(literal))
    return tuple(sorted(prefixes))


def consumer_groups(spec: ServiceSpec) -> tuple[ConsumerGroup, ...]:
    """The service's consumer groups and their topics, without a running instance
    (see the module docstring for the convention this relies on)."""
    if not spec.has_database:
        return ()  # no consumer groups: such a process reads its topics without a group
    settings = spec.settings_cls.model_construct()
    standin = Runtime(
        spec=spec,
        settings=cast(Any, settings),
        pool=cast(Any, None),
        schema=spec.name,
        stop=asyncio.Event(),
    )
    try:
        consumers = list(spec.consumers(standin))
    except Exception as exc:
        raise DeployError(
            f"{spec.name}: ServiceSpec.consumers(rt) must build its ConsumerSpec list from "
            f"constants, rt.schema and settings defaults only ({type(exc).__name__}: {exc})"
        ) from exc
    known = {t.name for t in TOPICS}
    groups = []
    for c in consumers:
        unknown = sorted(set(c.topics) - known)
        if unknown:
            raise DeployError(f"{spec.name}: consumer {c.name!r} reads undeclared topics {unknown}")
        groups.append(ConsumerGroup(c.name, tuple(c.topics)))
    return tuple(groups)


# Secrets every service has, wired by the manifests themselves.
PLATFORM_SECRETS = frozenset({"database_url", "operator_token", "kafka_password"})


def secret_fields(spec: ServiceSpec) -> tuple[str, ...]:
    """The service's own secret settings (``SecretStr`` fields beyond the DSN and
    the operator token), in declaration order."""
    from pydantic import SecretStr

    out = []
    for name, field in spec.settings_cls.model_fields.items():
        annotation = field.annotation
        types = getattr(annotation, "__args__", (annotation,))
        if SecretStr in types and name not in PLATFORM_SECRETS:
            out.append(name)
    return tuple(out)


def workers(spec: ServiceSpec) -> tuple[WorkerInfo, ...]:
    """The service's worker processes, in declaration order."""
    prefix = env_prefix(spec)
    return tuple(
        WorkerInfo(
            service=spec.name,
            name=f"{spec.name}-{name}",
            module=w.module,
            args=w.args,
            env_prefix=prefix,
            description=w.description,
            uses_database=w.uses_database and spec.has_database,
            metrics_port=w.metrics_port if w.metrics_port_field else None,
            metrics_port_field=w.metrics_port_field,
            data_dir_field=w.data_dir_field,
            replication_field=w.replication_field,
        )
        for name, w in spec.workers.items()
    )


def describe(spec: ServiceSpec) -> ServiceInfo:
    """Everything the manifests need about one service."""
    return ServiceInfo(
        name=spec.name,
        env_prefix=env_prefix(spec),
        http_port=default_http_port(spec),
        api_prefixes=api_prefixes(spec),
        consumer_groups=consumer_groups(spec),
        settings_fields=frozenset(spec.settings_cls.model_fields),
        routes=routes(spec),
        secret_fields=secret_fields(spec),
        workers=workers(spec),
    )


def load_services(specs: Mapping[str, ServiceSpec] | None = None) -> list[ServiceInfo]:
    """Every service of ``SERVICES`` (or of ``specs``), in table order."""
    if specs is None:
        from deploy.catalog import SERVICES, load_spec

        specs = {name: load_spec(name) for name in SERVICES}
    infos = []
    for name, spec in specs.items():
        if spec.name != name:
            raise DeployError(f"SERVICES[{name!r}] has ServiceSpec.name {spec.name!r}")
        infos.append(describe(spec))
    from services.edge.routes import RouteTable, template_path

    table = RouteTable()
    for info in infos:
        if info.name == "gateway":
            continue  # served on its own host (the devices' websocket ingress)
        for path in info.routes:
            route = table.resolve(template_path(path))
            if route is not None and route.service in specs and route.service != info.name:
                raise DeployError(
                    f"{info.name} serves {path}, but the route table (shared/http/"
                    f"routes_table.py) sends it to {route.service}"
                )
    return infos


def topic_table() -> tuple[TopicSpec, ...]:
    """The declared topics (indirection kept for tests that swap the table)."""
    return TOPICS
