"""``printcloud k8s ...`` and ``printcloud migrate-check``: deployment commands."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer
from rich.console import Console

from shared.settings import ServiceSettings

k8s_app = typer.Typer(
    help="Kubernetes manifests and the compose file, generated from the code's tables.",
    no_args_is_help=True,
)
console = Console(stderr=True)


@k8s_app.command("generate")
def k8s_generate() -> None:
    """Write k8s/ and deploy/compose.yaml files generated from SERVICES and TOPICS."""
    from deploy.manifests.generate import write

    changed = write()
    console.print(f"written: {', '.join(changed) if changed else 'nothing changed'}")


@k8s_app.command("check")
def k8s_check() -> None:
    """Exit 1 if a generated file differs from what the code produces."""
    from deploy.manifests.generate import stale

    problems = stale()
    for line in problems:
        console.print(f"[red]stale[/]: {line}")
    if problems:
        console.print("run: printcloud k8s generate")
        raise typer.Exit(1)
    console.print("generated deployment files up to date")


@k8s_app.command("secrets")
def k8s_secrets(
    compose: Annotated[
        bool, typer.Option("--compose", help="the variables deploy/compose.yaml needs instead")
    ] = False,
) -> None:
    """List the Secrets (and their keys) the manifests reference."""
    import re
    from pathlib import Path

    from deploy.manifests.common import SUPERUSER_SECRET
    from deploy.manifests.config import required_secrets, strimzi_secrets
    from deploy.manifests.model import load_services

    if compose:
        text = (Path(__file__).resolve().parents[2] / "deploy/compose.yaml").read_text()
        for name in sorted(set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))):
            print(name)
        return
    for secret, keys in required_secrets(load_services()).items():
        print(f"{secret}: {', '.join(keys)}")
    print(f"{SUPERUSER_SECRET}: username, password (written by CloudNativePG)")
    for secret, keys in strimzi_secrets(load_services()).items():
        print(f"{secret}: {', '.join(keys)} (written by Strimzi)")


@k8s_app.command("service-tokens")
def k8s_service_tokens(
    compose: Annotated[
        bool, typer.Option("--compose", help="as lines of deploy/.env instead")
    ] = False,
) -> None:
    """New service tokens, one per calling service, and the digests each callee holds:
    the values of the ``service-token`` and ``service-identities`` Secret keys."""
    import json

    from deploy.manifests.config import secrets_secret
    from shared.http.identities import SERVICE_GRANTS, new_service_token, token_digest

    digests: dict[str, dict[str, str]] = {}
    for caller, grant in sorted(SERVICE_GRANTS.items()):
        token = new_service_token(caller)
        if compose:
            print(f"PRINTCLOUD_{caller.upper()}_SERVICE_TOKEN={token}")
        else:
            print(f"{secrets_secret(caller)} service-token: {token}")
        for callee in sorted(grant.callees):
            digests.setdefault(callee, {})[caller] = token_digest(token)
    for callee, callers in sorted(digests.items()):
        if compose:
            print(f"PRINTCLOUD_{callee.upper()}_SERVICE_IDENTITIES='{json.dumps(callers)}'")
        else:
            print(f"{secrets_secret(callee)} service-identities: {json.dumps(callers)}")


async def pending_migrations(name: str) -> list[str]:
    """Ids of service ``name``'s migrations not yet applied, read as its own role.

    MigrationError when an applied file changed; OSError/asyncpg errors when the
    database cannot be reached."""
    from deploy.catalog import load_spec
    from shared.db.migrate import load_migrations, pending
    from shared.db.pool import connect

    spec = load_spec(name)
    settings = spec.settings_cls()
    if not isinstance(settings, ServiceSettings):
        return []  # no database, nothing to migrate
    schema = settings.db_schema or spec.name
    conn = await connect(
        settings.database_url.get_secret_value(), schema, application_name=f"{schema}-migrate-check"
    )
    try:
        return await pending(conn, load_migrations(spec.migrations_dir))
    finally:
        await conn.close()


def migrate_check(
    services: Annotated[list[str] | None, typer.Argument(help="default: every service")] = None,
    wait: Annotated[
        float, typer.Option(help="keep checking for up to this many seconds", min=0)
    ] = 0,
    interval: Annotated[float, typer.Option(help="seconds between checks", min=0.1)] = 2,
) -> None:
    """Exit 0 when the services' migrations are applied, 1 otherwise.

    A database ahead of the code is fine (rolling upgrades). Pending migrations, a
    changed migration file or an unreachable database exit 1; with --wait the check
    repeats until then, which makes it an init container that waits for the
    migrations Job."""
    from deploy.catalog import SERVICES, database_services

    names = services or database_services()
    for name in names:
        if name not in SERVICES:
            raise typer.BadParameter(f"unknown service {name!r}; known: {', '.join(SERVICES)}")
    deadline = time.monotonic() + wait
    while True:
        problems = []
        for name in names:
            try:
                todo = asyncio.run(pending_migrations(name))
            except Exception as exc:
                problems.append(f"{name}: cannot check ({type(exc).__name__}: {exc})")
                continue
            if todo:
                problems.append(f"{name}: pending {todo}")
        if not problems:
            console.print(f"migrations applied: {', '.join(names)}")
            return
        if time.monotonic() >= deadline:
            for line in problems:
                console.print(f"[red]{line}[/]")
            raise typer.Exit(1)
        console.print(f"waiting for migrations: {'; '.join(problems)}")
        time.sleep(interval)
