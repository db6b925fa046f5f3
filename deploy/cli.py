"""The ``printcloud`` command: run services, migrate, manage topics, run locally."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from client.output import EXIT_CODES
from deploy.catalog import SERVICES, database_services, load_spec
from services.agent.cli import agent_app
from shared.settings import ServiceSettings

app = typer.Typer(help="Printcloud: open cloud printing.", no_args_is_help=True, epilog=EXIT_CODES)
topics_app = typer.Typer(help="Kafka topics from the declared table.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
device_app = typer.Typer(help="Devices: onboarding from an administrator's terminal.")
app.add_typer(device_app, name="device")
app.add_typer(
    agent_app, name="agent", help="The device agent: printer simulator, IPP bridge, connector."
)
db_app = typer.Typer(help="Database roles and schemas.", no_args_is_help=True)
app.add_typer(db_app, name="db")
schemas_app = typer.Typer(help="JSON Schemas of the events.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")
console = Console(soft_wrap=True)  # a line is never broken inside an id or a path

ServiceArg = Annotated[str, typer.Argument(help=f"one of: {', '.join(SERVICES)}")]


def _service(name: str) -> str:
    if name not in SERVICES:
        raise typer.BadParameter(f"unknown service {name!r}; known: {', '.join(SERVICES)}")
    return name


@app.command()
def run(service: ServiceArg) -> None:
    """Run one service process (HTTP, outbox relay, consumers) until SIGTERM."""
    from shared.service import main

    main(load_spec(_service(service)))


@app.command()
def migrate(
    services: Annotated[list[str] | None, typer.Argument(help="default: every service")] = None,
) -> None:
    """Apply pending migrations, each service as its own role (PRINTCLOUD_<NAME>_DATABASE_URL)."""
    from shared.infra.database import migrate_service

    for name in services or database_services():
        spec = load_spec(_service(name))
        settings = spec.settings_cls()
        if not isinstance(settings, ServiceSettings):
            console.print(f"{name}: has no database")
            continue
        applied = asyncio.run(
            migrate_service(
                settings.database_url.get_secret_value(),
                settings.db_schema or spec.name,
                spec.migrations_dir,
            )
        )
        console.print(f"{name}: {'applied ' + ', '.join(applied) if applied else 'up to date'}")


@db_app.command("provision")
def db_provision(
    admin_dsn: Annotated[str, typer.Option(envvar="PRINTCLOUD_ADMIN_DSN", help="superuser DSN")],
    services: Annotated[list[str] | None, typer.Argument(help="default: every service")] = None,
) -> None:
    """Create each service's login role and schema from its PRINTCLOUD_<NAME>_DATABASE_URL
    (role and password from that DSN), and lock everything else away from it."""
    from urllib.parse import unquote, urlsplit

    from shared.infra.database import provision

    passwords: dict[str, str] = {}
    for name in services or database_services():
        spec = load_spec(_service(name))
        settings = spec.settings_cls()
        if not isinstance(settings, ServiceSettings):
            continue
        dsn = urlsplit(settings.database_url.get_secret_value())
        schema = settings.db_schema or spec.name
        if unquote(dsn.username or "") != schema:
            raise typer.BadParameter(f"{name}: the DSN's user must be {schema!r}, the schema name")
        passwords[schema] = unquote(dsn.password or "")
    asyncio.run(provision(admin_dsn, passwords))
    console.print(f"provisioned: {', '.join(passwords)}")


@topics_app.command("create")
def topics_create(
    bootstrap: Annotated[str, typer.Option(envvar="PRINTCLOUD_KAFKA_BOOTSTRAP")],
    replication_factor: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """Create every declared topic that is missing; report drift; change nothing else.

    Connects as the broker's super user (``PRINTCLOUD_KAFKA_USERNAME``,
    ``PRINTCLOUD_KAFKA_PASSWORD``, ``PRINTCLOUD_KAFKA_CA_FILE``)."""
    from shared.kafka.admin import ensure_topics
    from shared.kafka.topics import TOPICS
    from shared.settings import ProcessSettings

    kafka = ProcessSettings(kafka_bootstrap=bootstrap).kafka()
    report = asyncio.run(ensure_topics(kafka, TOPICS, replication_factor=replication_factor))
    console.print(f"created: {report.created or '-'}")
    console.print(f"already present: {report.existing or '-'}")
    for line in report.drift:
        console.print(f"[yellow]drift[/]: {line}")


@topics_app.command("acls")
def topics_acls(
    bootstrap: Annotated[str, typer.Option(envvar="PRINTCLOUD_KAFKA_BOOTSTRAP")],
) -> None:
    """Allow each Kafka user what shared/kafka/acls.py declares (a broker that Strimzi does
    not manage); connects as the super user, like ``topics create``."""
    from shared.kafka.acls import KAFKA_USERS
    from shared.kafka.admin import ensure_acls
    from shared.settings import ProcessSettings

    kafka = ProcessSettings(kafka_bootstrap=bootstrap).kafka()
    sent = asyncio.run(ensure_acls(kafka, KAFKA_USERS))
    console.print(f"{sent} ACLs for users: {', '.join(u.name for u in KAFKA_USERS)}")


@topics_app.command("client-config")
def topics_client_config(
    user: Annotated[str, typer.Argument(help="a Kafka user of shared/kafka/acls.py, or admin")] = (
        "analytics"
    ),
) -> None:
    """Print the librdkafka client properties (``kcat -F <file>``) with which a Kafka user
    connects to the local platform's broker; they hold the user's password."""
    from shared.infra.kafka import KafkaBroker
    from shared.settings import home

    root = home()
    broker = KafkaBroker(data_dir=root / "kafka", port=0, controller_port=0, log_file=root / "x")
    if not broker.credentials_file.is_file():
        raise typer.BadParameter(f"no local broker in {root}; start `printcloud platform` first")
    try:
        access = broker.access(user)
    except KeyError:
        raise typer.BadParameter(f"unknown Kafka user {user!r}") from None
    for line in access.client_properties():
        print(line)


@topics_app.command("list")
def topics_list() -> None:
    """Print the declared topic table."""
    from shared.kafka.topics import TOPICS

    table = Table("topic", "owner", "key", "partitions", "retention", "description")
    for t in TOPICS:
        retention = "compacted" if t.compacted else f"{t.retention_ms // 86_400_000} d"
        table.add_row(t.name, t.owner, t.key, str(t.partitions), retention, t.description)
    console.print(table)


@schemas_app.command("write")
def schemas_write(
    allow_breaking: Annotated[
        bool, typer.Option(help="overwrite a breaking change (only for a version never released)")
    ] = False,
) -> None:
    """Regenerate shared/schemas/*.json, docs/catalogue.md and docs/asyncapi.yaml from the
    event models; refuses a breaking change to a committed (type, version)."""
    from deploy.apidocs import asyncapi
    from deploy.catalog import event_models
    from shared.events import catalogue, schemas
    from shared.kafka.topics import TOPICS

    try:
        written = schemas.write(event_models(), allow_breaking=allow_breaking)
    except schemas.BreakingChange as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    if catalogue.write(TOPICS, event_models()):
        written.append(str(catalogue.CATALOGUE))
    if asyncapi.write(TOPICS, event_models()):
        written.append(str(asyncapi.DOCUMENT))
    console.print(f"written: {written or 'nothing changed'}")


@schemas_app.command("check")
def schemas_check() -> None:
    """Exit 1 if a committed schema differs from its model (or the change is breaking)."""
    from deploy.apidocs import asyncapi
    from deploy.catalog import event_models
    from shared.events import catalogue, schemas
    from shared.kafka.topics import TOPICS

    broken = schemas.breaking(event_models())
    if broken:
        console.print(f"[red]{schemas.BreakingChange(broken)}[/]")
        raise typer.Exit(1)
    stale = schemas.stale(event_models())
    if catalogue.stale(TOPICS, event_models()):
        stale.append(str(catalogue.CATALOGUE))
    if asyncapi.stale(TOPICS, event_models()):
        stale.append(str(asyncapi.DOCUMENT))
    if stale:
        console.print(f"[red]stale schemas[/]: {stale} (run: printcloud schemas write)")
        raise typer.Exit(1)
    console.print("schemas up to date")


@device_app.command("relay")
def device_relay(
    name: Annotated[str, typer.Option(help="name of the new printer or connector")],
    region: Annotated[str, typer.Option(help="region code, e.g. eu-west")],
    sheet: Annotated[str | None, typer.Option(help="the sheet's QR payload")] = None,
    sheet_file: Annotated[Path | None, typer.Option(help="a file holding the payload")] = None,
    location: Annotated[str | None, typer.Option()] = None,
    tenant_id: Annotated[str | None, typer.Option(help="required for operators")] = None,
    url: Annotated[str, typer.Option(envvar="PRINTCLOUD_URL")] = "http://127.0.0.1:8081",
    token: Annotated[str, typer.Option(envvar="PRINTCLOUD_TOKEN", help="bearer token")] = "",
) -> None:
    """Claim an offline device from its registration sheet (what its QR code holds)."""
    import json

    import aiohttp

    payload = sheet or (sheet_file.read_text().strip() if sheet_file else None)
    if not payload:
        raise typer.BadParameter("give --sheet or --sheet-file")
    body = {"sheet": payload, "name": name, "region": region, "location": location}
    if tenant_id:
        body["tenant_id"] = tenant_id

    async def post() -> tuple[int, dict[str, object]]:
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(url, headers=headers) as http:
            async with http.post("/v1/registrations/relay", json=body) as resp:
                return resp.status, await resp.json(content_type=None)

    status, answer = asyncio.run(post())
    console.print_json(json.dumps(answer))
    if status not in (200, 201):  # 200: this sheet had claimed the device already
        raise typer.Exit(1)


@app.command()
def platform(
    check: Annotated[
        bool, typer.Option(help="start, print one job end to end through the API, stop, exit")
    ] = False,
) -> None:
    """Start Kafka, Postgres, migrations, topics and every service locally (Ctrl-C stops)."""
    import time

    from deploy.platform.demo import DemoError, demo_user, demo_virtual_printer
    from deploy.platform.local import LocalPlatform, PortTaken
    from shared.infra.kafka import InfraError

    started = time.monotonic()

    def stage(text: str) -> None:
        """One progress line per stage, through a pipe as on a terminal."""
        line = f"[{time.monotonic() - started:5.1f} s] {text}"
        console.print(line, highlight=False, soft_wrap=True, markup=False)

    local = LocalPlatform({n: f"services.{n}" for n in SERVICES}, database_services())
    try:
        stage("starting Postgres and Kafka")
        local.start_infra()
        stage("applying migrations and creating topics")
        asyncio.run(local.prepare({n: load_spec(n).migrations_dir for n in database_services()}))
        stage(f"starting {len(local.services)} services, their workers and the edge")
        local.start_services()
        stage("starting the demo printer and its user")
        demo = asyncio.run(local.start_demo_printer())
        asyncio.run(demo_user(local.base_url, local.operator_token, local.demo_user_file))
        pool = asyncio.run(
            demo_virtual_printer(local.base_url, local.operator_token, demo.split()[0])
        )
        _print_platform(local, demo, pool)
        if check:
            stage("first job: through the public API to the demo printer")
            try:
                asyncio.run(_smoke(local, demo, started, stage, pool))
            except (DemoError, RuntimeError, TimeoutError) as exc:
                console.print(f"[red]check failed[/]: {exc}")
                raise typer.Exit(1) from None
            console.print("[green]check passed[/]")
            _print_how_to_print(local, demo, pool)
            return
        _print_how_to_print(local, demo, pool)
        console.print("running; Ctrl-C stops everything")
        stopping = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.set())
        while not stopping.wait(2):
            for line in local.restart_exited():
                console.print(f"[yellow]restarted[/] {line}")
    except (PortTaken, InfraError) as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        console.print("stopping")
        local.stop()


def _print_platform(local: object, demo: str, pool: str) -> None:
    from rich.measure import Measurement

    from deploy.platform.local import LocalPlatform

    assert isinstance(local, LocalPlatform)
    logs = local.root / "logs"
    rows: list[tuple[str, str, str]] = []
    for proc in local.processes:
        where = f"http://127.0.0.1:{proc.http_port}" if proc.http_port else "-"
        log = Path(proc.log_file)
        rows.append((proc.name, where, log.name if log.parent == logs else str(log)))
    rows += [
        ("public API (printcloud login --url)", local.base_url, ""),
        *(
            [
                (
                    "web portal (sign in with the demo user's API token)",
                    local.portal_url + "/portal",
                    "",
                )
            ]
            if "portal" in local.services
            else []
        ),
        ("device websocket", local.gateway_url, ""),
        ("demo printer", demo, ""),
        ("demo virtual printer (pull print)", pool, ""),
        ("demo user's API token", str(local.demo_user_file), ""),
        ("kafka (SASL_SSL, SCRAM-SHA-512)", local.kafka.bootstrap, "kafka.log"),
        (
            "kafka users' passwords, CA",
            f"{local.kafka.credentials_file}, {local.kafka.tls.ca_file}",
            "",
        ),
        ("postgres", f"127.0.0.1:{local.ports.postgres} database printcloud", "postgres.log"),
        ("operator token", f"cat {local.operator_token_file}", ""),
    ]
    table = Table("what", "where", "log", caption=f"logs in {logs}")
    for row in rows:
        table.add_row(*row)
    wide = Console(file=console.file, width=100_000, no_color=not console.is_terminal)
    natural = Measurement.get(wide, wide.options, table).maximum
    if not console.is_terminal:  # a pipe has no width: whole lines, nothing cut or folded
        wide.print(table, highlight=False)
    elif natural <= console.width:
        console.print(table)
    else:  # a narrow terminal: one line per row, paths and ids whole
        for what, where, log in rows:
            line = f"{what}: {where}" + (f"  (log {log})" if log else "")
            console.print(line, highlight=False, soft_wrap=True, markup=False)
        console.print(f"logs in {logs}", highlight=False, soft_wrap=True)
    console.print(
        f"operator token (a platform operator across tenants): in {local.operator_token_file}"
        f" (mode 0600); use it as TOKEN=$(cat {local.operator_token_file})",
        soft_wrap=True,
        highlight=False,
    )


def _print_how_to_print(local: object, demo: str, pool: str) -> None:
    from deploy.platform.demo import load_demo_user
    from deploy.platform.local import LocalPlatform

    assert isinstance(local, LocalPlatform)
    pc = Path(sys.executable).with_name("printcloud")
    user = load_demo_user(local.demo_user_file)
    token = user.api_token if user else "<the api_token in that file>"
    host = local.base_url.removeprefix("http://")
    console.print(
        f"print on the demo printer as the demo user (API token kept in {local.demo_user_file}),"
        " through the public API:\n"
        f"  {pc} login --url {local.base_url} --token {token}\n"
        f"  {pc} print FILE.pdf --printer {demo.split()[0]}\n"
        f"  {pc} jobs list\n"
        "pull print: send it to the demo virtual printer, then release it at the demo printer:\n"
        f"  {pc} print FILE.pdf --virtual-printer {pool}\n"
        f"  {pc} release --printer {demo.split()[0]} --all\n"
        + (
            f"or in a browser: open {local.portal_url}/portal, sign in with that API token "
            "(then add a passkey under Passkeys for next time), choose Print (docs/portal.md)\n"
            if "portal" in local.services
            else ""
        )
        + "or add it to this computer as a driverless IPP Everywhere printer (docs/ipp.md):\n"
        f"  lpadmin -p printcloud-demo -E -m everywhere -v "
        f"'ipp://demo:{token}@{host}/ipp/print/{demo.split()[0]}'\n"
        "its URI for other IPP clients (Windows, macOS, Android; the password is the token):\n"
        f"  ipp://{host}/ipp/print/{demo.split()[0]}",
        soft_wrap=True,
        highlight=False,
    )


async def _smoke(
    local: object,
    demo: str,
    started: float,
    stage: Callable[[str], None] | None = None,
    pool: str | None = None,
) -> None:
    import time

    from deploy.platform.demo import DemoError, load_demo_user, print_test_page, submit_and_wait
    from deploy.platform.local import LocalPlatform
    from deploy.platform.smoke import registry_round_trip
    from shared.kafka.acls import ANALYTICS_USER

    assert isinstance(local, LocalPlatform)
    device_id = uuid.UUID(demo.split()[0])
    user = await asyncio.to_thread(load_demo_user, local.demo_user_file)
    if user is None:
        raise DemoError(f"no demo user in {local.demo_user_file}")
    job = await submit_and_wait(local.base_url, user, device_id, local.demo_state, progress=stage)
    console.print(
        f"job {job.job_id} submitted through {local.base_url} completed in {job.seconds:.1f} s; "
        f"printed by the demo printer into {job.printed}"
    )
    console.print(f"first job printed after {time.monotonic() - started:.1f} s")
    if pool is not None:
        if stage:
            stage("pull print: a job to the demo virtual printer, released at the demo printer")
        pulled = await submit_and_wait(
            local.base_url, user, device_id, local.demo_state, progress=stage,
            pull_via=uuid.UUID(pool),
        )  # fmt: skip
        console.print(
            f"job {pulled.job_id} sent to the demo virtual printer, released at the demo "
            f"printer and printed into {pulled.printed}",
            soft_wrap=True,
            highlight=False,
        )
    registry_url = f"http://127.0.0.1:{local.port_of('registry')}"
    console.print(
        await registry_round_trip(
            registry_url, local.operator_token, local.kafka.access(ANALYTICS_USER)
        )
    )
    console.print(
        await print_test_page(registry_url, local.operator_token, device_id, local.demo_spool)
    )


def main() -> None:
    """Console entry point."""
    app()


# Deployment commands (shared/deploy): printcloud k8s generate|check, printcloud migrate-check.
from deploy.manifests.cli import k8s_app, migrate_check  # noqa: E402

app.add_typer(k8s_app, name="k8s")
app.command("migrate-check")(migrate_check)

# Operator actions on auth's signing keys: printcloud auth rotate-keys.
from deploy.operator.auth import auth_app  # noqa: E402

app.add_typer(auth_app, name="auth")

# Logging in at a printer with a phone key: printcloud phone keygen|register|approve.
from client.phone import phone_app  # noqa: E402

app.add_typer(phone_app, name="phone")

# The public API: printcloud edge, printcloud openapi write|check, and the commands of
# the people who print (printcloud login, printers, print, jobs, release, reservations).
from client.cli import user_commands  # noqa: E402
from deploy.apidocs.cli import api_commands  # noqa: E402

api_commands(app)
user_commands(app)


if __name__ == "__main__":
    main()
