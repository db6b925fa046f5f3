"""The process skeleton every service runs on.

``serve(spec)`` starts, in one process: the HTTP server (the service's routes
plus /healthz, /readyz and /metrics), the outbox relay, the service's consumers
and its periodic tasks, all supervised. On SIGTERM or SIGINT readiness turns
false first, new HTTP connections stop, in-flight requests finish, consumers
finish the batch in hand, the relay flushes, and the process exits.

A database or broker unreachable at start is waited for (capped backoff, a warning
per failed attempt), not crashed on: meanwhile a stand-in answers on the port
(/healthz alive, /readyz not ready, 503 with Retry-After to everything else), and a
signal ends the wait with exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import asyncpg
from aiohttp import web
from aiokafka.client import AIOKafkaClient

from shared.db import inbox
from shared.db.migrate import MigrationError, load_migrations, pending
from shared.db.outbox import Emitter, OutboxRelay
from shared.db.pool import create_pool
from shared.db.uow import PostgresTransactions
from shared.dependencies import DATABASE, EVENT_BROKER, Waiting, wait_until_available
from shared.events.envelope import Actor
from shared.events.registry import EventRegistry
from shared.http.auth import (
    MAX_TOKEN_LIFETIME_S,
    Authenticator,
    CompositeAuthenticator,
    JwtAuthenticator,
    OperatorTokenAuthenticator,
)
from shared.http.health import healthz, metrics, readiness
from shared.http.identities import ServiceTokenAuthenticator
from shared.http.middleware import AUTHENTICATOR, MIDDLEWARES
from shared.http.problem import dependency_unavailable, problem_response
from shared.http.revocations import REVOCATIONS, RevocationCache
from shared.http.slowclients import GuardedAppRunner, SlowClientLimits
from shared.kafka.access import KafkaAccess
from shared.kafka.consumer import BatchHandler, EventConsumer, Handler
from shared.logging import configure_logging, get_logger
from shared.settings import ProcessSettings, ServiceSettings
from shared.supervisor import Supervisor, TaskFactory

log = get_logger(__name__)


@dataclass(frozen=True)
class ConsumerSpec:
    """A consumer group of this service: its topics and a handler per event type."""

    name: str
    topics: Sequence[str]
    handlers: dict[str, Handler] = field(default_factory=dict)
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)


def operator_authenticator(settings: ProcessSettings) -> OperatorTokenAuthenticator:
    """The operator token, known by itself or by its digest (``operator_token_sha256``)."""
    token = settings.operator_token.get_secret_value() if settings.operator_token else None
    return OperatorTokenAuthenticator(token, sha256=settings.operator_token_sha256 or None)


def default_authenticator(settings: ServiceSettings) -> Authenticator:
    """The operator token, the service tokens of ``service_identities``, and auth's access
    tokens when ``auth_jwks_url`` is set."""
    operator: Authenticator = operator_authenticator(settings)
    if settings.service_identities:
        operator = CompositeAuthenticator(
            operator, ServiceTokenAuthenticator(settings.service_identities)
        )
    if not settings.auth_jwks_url:
        return operator
    tokens = JwtAuthenticator(
        settings.auth_jwks_url,
        settings.auth_issuer,
        settings.auth_audience,
        leeway_s=settings.auth_leeway_s,
        min_refresh_s=settings.auth_jwks_min_refresh_s,
    )
    return CompositeAuthenticator(operator, tokens)


S = TypeVar("S", bound=ServiceSettings)
P = TypeVar("P", bound=ProcessSettings)
R = TypeVar("R")


@dataclass
class Runtime(Generic[S]):
    """What a running service instance shares with its views and tasks; typed by the
    service's own settings class, so nothing downstream needs to check it."""

    spec: ServiceSpec[S]
    settings: S
    pool: asyncpg.Pool
    schema: str
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    ready: bool = False
    supervisor: Supervisor | None = None
    kafka: AIOKafkaClient | None = None

    def emitter(
        self, correlation_id: uuid.UUID | None = None, actor: Actor | None = None
    ) -> Emitter:
        """An outbox emitter of this service (events carry ``correlation_id`` and, for a
        request's caller, ``actor``, unless the ``event_actors`` setting is off)."""
        named = actor if self.settings.event_actors else None
        return Emitter(self.schema, self.spec.name, correlation_id, actor=named)

    def transactions(
        self, repository: Callable[[asyncpg.Connection], R]
    ) -> PostgresTransactions[R]:
        """Units of work on this service's pool with ``repository`` built on each
        connection (consumers: :meth:`PostgresTransactions.applying`)."""
        return PostgresTransactions(self.pool, self.emitter(), repository)


@dataclass(frozen=True)
class WorkerSpec:
    """A process of a service beside its HTTP server, from the same code and image:
    ``python -m <module> <args...>``, configured by the service's settings prefix.

    The local platform starts, restarts and stops it with the services; the
    deployment generators give it a workload of its own (no Service in front of it:
    it serves no API)."""

    module: str
    args: tuple[str, ...] = ()
    description: str = ""
    uses_database: bool = False
    """Whether it needs the service's ``DATABASE_URL``."""
    metrics_port_field: str | None = None
    """Settings field of the port of its HTTP ``/metrics`` (None: it listens on no port);
    what the deployment probes for liveness and Prometheus scrapes."""
    metrics_port: int = 9100
    """The port the deployments give it (``metrics_port_field``)."""
    data_dir_field: str | None = None
    """Settings field of a writable directory it needs (None: none)."""
    replication_field: str | None = None
    """Settings field of the replication factor of the Kafka topics it creates itself
    (None: it creates none); the deployments set it like the declared topics'."""


@dataclass(frozen=True)
class ServiceSpec(Generic[P]):
    """Everything that makes a service itself; the runtime does the rest."""

    name: str
    settings_cls: type[P]
    registry: EventRegistry
    migrations_dir: Path | None = None
    add_routes: Callable[[web.Application], None] | None = None
    consumers: Callable[[Runtime[Any]], Sequence[ConsumerSpec]] = lambda _: ()
    tasks: Callable[[Runtime[Any]], dict[str, TaskFactory]] = lambda _: {}
    authenticator: Callable[[ServiceSettings], Authenticator] = default_authenticator
    app_factory: Callable[[Any], web.Application] | None = None
    """A process without a database (the gateway) builds its own app; it must set
    ``app[UNREADY]``. Such a process has no migrations, outbox or consumers here."""
    workers: Mapping[str, WorkerSpec] = field(default_factory=dict)
    """Processes of the service beside its HTTP server, by name (deployed as
    ``<service>-<name>``)."""

    @property
    def has_database(self) -> bool:
        """Whether the service owns a Postgres schema (and so a role and migrations)."""
        return self.app_factory is None


RUNTIME = web.AppKey("runtime", Runtime)
STARTING = web.AppKey("starting", Waiting)
"""What the app's start-up is waiting for (the stand-in's readiness names it)."""
UNREADY: web.AppKey[Callable[[], None]] = web.AppKey("unready")


def _schema(spec: ServiceSpec[Any], settings: ServiceSettings) -> str:
    return settings.db_schema or spec.name


async def _readyz(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    checks: dict[str, str] = {"accepting": "ok" if rt.ready else "shutting down or starting"}
    try:
        async with asyncio.timeout(2), rt.pool.acquire() as conn:
            todo = await pending(conn, load_migrations(rt.spec.migrations_dir))
        checks["database"] = "ok"
        checks["migrations"] = "ok" if not todo else f"pending: {todo}"
    except MigrationError as exc:
        checks["database"] = "ok"
        checks["migrations"] = str(exc)
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        assert rt.kafka is not None
        async with asyncio.timeout(2):
            await rt.kafka.fetch_all_metadata()
        checks["kafka"] = "ok"
    except Exception as exc:
        checks["kafka"] = f"unreachable: {type(exc).__name__}"
    # Until the revocations are read, a revoked API token's access tokens would pass.
    revoked = request.app[REVOCATIONS]
    checks["token-revocations"] = "ok" if revoked.ready.is_set() else "loading"
    if rt.supervisor and rt.supervisor.failing:
        checks["tasks"] = f"restarting: {sorted(rt.supervisor.failing)}"
    return readiness(checks)


def _purge_task(rt: Runtime[Any]) -> TaskFactory:
    async def purge(stop: asyncio.Event) -> None:
        while not stop.is_set():
            async with rt.pool.acquire() as conn:
                removed = await inbox.purge(conn, older_than_days=rt.settings.inbox_retention_days)
            if removed:
                log.info("inbox purged", removed=removed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 3600)

    return purge


def _background(rt: Runtime[Any]) -> dict[str, TaskFactory]:
    s = rt.settings
    relay = OutboxRelay(
        dsn=s.database_url.get_secret_value(),
        schema=rt.schema,
        kafka=s.kafka(),
        batch_size=s.outbox_batch_size,
        poll_s=s.outbox_poll_s,
    )
    tasks: dict[str, TaskFactory] = {"outbox-relay": relay.run, "inbox-purge": _purge_task(rt)}
    for c in rt.spec.consumers(rt):
        consumer = EventConsumer(
            name=c.name,
            topics=c.topics,
            handlers=c.handlers,
            batch_handlers=c.batch_handlers,
            registry=rt.spec.registry,
            pool=rt.pool,
            kafka=s.kafka(),
            batch_size=s.consumer_batch_size,
        )
        tasks[f"consumer:{c.name}"] = consumer.run
    tasks.update(rt.spec.tasks(rt))
    return tasks


async def _kafka_client(kafka: KafkaAccess) -> AIOKafkaClient:
    client = AIOKafkaClient(**kafka.client_options())
    try:
        await client.bootstrap()
    except BaseException:
        await client.close()
        raise
    return client


def create_app(spec: ServiceSpec[Any], settings: ServiceSettings) -> web.Application:
    """The service's aiohttp app; its cleanup context owns pool, Kafka and tasks."""
    app = web.Application(middlewares=MIDDLEWARES)
    app[AUTHENTICATOR] = spec.authenticator(settings)
    # Revoked API tokens, followed from auth.tokens: their access tokens stop at once.
    # Kept as long as a token minted before the revocation may live, then forgotten.
    app[REVOCATIONS] = RevocationCache(
        settings.kafka(), keep_s=MAX_TOKEN_LIFETIME_S + settings.auth_leeway_s
    )
    app[UNREADY] = lambda: setattr(app[RUNTIME], "ready", False)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", metrics)
    if spec.add_routes:
        spec.add_routes(app)

    waiting = app[STARTING] = Waiting()

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        schema = _schema(spec, settings)
        # A database or broker down at start is waited for (serve_app answers the
        # probes meanwhile), not crashed on.
        pool = await wait_until_available(
            DATABASE,
            lambda: create_pool(
                settings.database_url.get_secret_value(),
                schema,
                application_name=spec.name,
                min_size=settings.db_pool_min,
                max_size=settings.db_pool_max,
            ),
            waiting=waiting,
        )
        try:
            kafka = await wait_until_available(
                EVENT_BROKER, lambda: _kafka_client(settings.kafka()), waiting=waiting
            )
        except BaseException:
            pool.terminate()
            raise
        rt = Runtime(spec=spec, settings=settings, pool=pool, schema=schema, kafka=kafka)
        app[RUNTIME] = rt
        rt.supervisor = Supervisor(rt.stop)
        try:
            for name, factory in _background(rt).items():
                rt.supervisor.start(name, factory)
            rt.supervisor.start("token-revocations", app[REVOCATIONS].run)
            rt.ready = True
            yield
        finally:
            rt.ready = False
            rt.stop.set()
            await rt.supervisor.join(timeout=30)
            await kafka.close()
            await pool.close()

    app.cleanup_ctx.append(lifetime)
    return app


_CHECK_NAMES = {DATABASE: "database", EVENT_BROKER: "kafka"}


def _starting_app(waiting: Waiting) -> web.Application:
    """What answers on the port while the real app waits for its dependencies: alive,
    not ready, and 503 with Retry-After to every other request."""

    async def readyz(_: web.Request) -> web.Response:
        checks = {"accepting": "starting"}
        if waiting.dependency is not None:
            checks[_CHECK_NAMES.get(waiting.dependency, waiting.dependency)] = (
                f"unreachable: {waiting.reason or 'connecting'} (attempt {waiting.attempts})"
            )
        return readiness(checks)

    async def refuse(request: web.Request) -> web.Response:
        if waiting.dependency is not None:
            return dependency_unavailable(waiting.dependency, instance=request.path)
        return problem_response(
            503,
            "Starting",
            "the service is starting; retry the request shortly",
            code="starting",
            instance=request.path,
            headers={"Retry-After": "1"},
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_route("*", "/{tail:.*}", refuse)
    return app


async def _start_app(
    name: str, runner: web.AppRunner, settings: ProcessSettings, stopping: asyncio.Event
) -> int | None:
    """Set ``runner`` up (the app's start-up waits for its dependencies) and return the
    port to serve it on; None when asked to stop first. While start-up takes longer than
    a second, a stand-in app holds the port (liveness yes, readiness no, 503 otherwise).
    ``startup_timeout_s`` (0: none) bounds the wait: SystemExit(1) past it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.startup_timeout_s if settings.startup_timeout_s else None
    setup = asyncio.create_task(runner.setup(), name="start-up")
    stop = asyncio.create_task(stopping.wait())
    standin: web.AppRunner | None = None
    port: int | None = settings.http_port
    try:
        await asyncio.wait({setup, stop}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
        if not setup.done() and not stopping.is_set():
            standin = app_runner(_starting_app(runner.app.get(STARTING) or Waiting()), settings)
            await standin.setup()
            site = web.TCPSite(standin, settings.http_host, settings.http_port, reuse_address=True)
            await site.start()
            port = standin.addresses[0][1]
            log.info("waiting for dependencies", service=name, port=port)
            left = None if deadline is None else max(0.0, deadline - loop.time())
            await asyncio.wait({setup, stop}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        if not setup.done():
            setup.cancel()
            await asyncio.gather(setup, return_exceptions=True)
            if stopping.is_set():
                log.info("stopped while starting", service=name)
                return None
            waited_for = (runner.app.get(STARTING) or Waiting()).dependency or "start-up"
            log.error("gave up starting", service=name, waiting_for=waited_for)
            raise SystemExit(1)
        setup.result()
        return port
    finally:
        stop.cancel()
        if standin is not None:
            await standin.cleanup()


async def serve_app(
    name: str, app: web.Application, settings: ProcessSettings, unready: Callable[[], None]
) -> None:
    """Serve ``app`` until SIGTERM/SIGINT; then ``unready()`` (readiness off), wait the
    grace period so load balancers notice, stop taking connections, finish in-flight
    requests and run the app's cleanup (background tasks stop and flush there).

    A signal while the app is still waiting for its dependencies ends the process
    cleanly (exit 0)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    runner = app_runner(app, settings)
    port = await _start_app(name, runner, settings, stopping)
    if port is None:
        _ignore_further_stop_signals(loop)
        return
    site = web.TCPSite(runner, settings.http_host, port, reuse_address=True)
    await site.start()
    log.info("service started", service=name, host=settings.http_host, port=port)
    await stopping.wait()
    # A repeated SIGTERM (a supervisor making sure) must not cut the shutdown short,
    # also after the loop closes and would restore the default action.
    _ignore_further_stop_signals(loop)
    log.info("shutdown requested; readiness off")
    unready()
    await asyncio.sleep(settings.shutdown_grace_s)
    await runner.cleanup()
    log.info("service stopped")


def app_runner(app: web.Application, settings: ProcessSettings) -> web.AppRunner:
    """The runner of a Printcloud server: slow clients are cut off in seconds."""
    limits = SlowClientLimits(
        header_timeout_s=settings.http_header_timeout_s,
        body_idle_timeout_s=settings.http_body_idle_timeout_s,
        keepalive_timeout_s=settings.http_keepalive_timeout_s,
    )
    return GuardedAppRunner(
        app, limits=limits, handle_signals=False, access_log=None, shutdown_timeout=20
    )


def _ignore_further_stop_signals(loop: asyncio.AbstractEventLoop) -> None:
    """From now on SIGTERM and SIGINT change nothing: the shutdown under way finishes
    (a supervisor that cannot wait sends SIGKILL)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.remove_signal_handler(sig)
        signal.signal(sig, signal.SIG_IGN)


async def serve(spec: ServiceSpec[Any], settings: ProcessSettings | None = None) -> None:
    """Run the service until SIGTERM/SIGINT, then shut down gracefully."""
    settings = settings or spec.settings_cls()
    configure_logging(spec.name, settings.log_level, settings.log_json)
    if spec.app_factory is not None:
        app = spec.app_factory(settings)
    else:
        assert isinstance(settings, ServiceSettings)
        app = create_app(spec, settings)
    await serve_app(spec.name, app, settings, app[UNREADY])


def main(spec: ServiceSpec[Any]) -> None:
    """Entry point of ``python -m services.<name>``."""
    asyncio.run(serve(spec))
