"""Preparing a database for services: roles and schemas, then their migrations."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from shared.db.migrate import load_migrations, migrate
from shared.db.pool import connect
from shared.db.provision import lock_down_database, provision_service


def dsn_for(admin_dsn: str, *, user: str, password: str, database: str | None = None) -> str:
    """``admin_dsn`` with another login (and optionally another database)."""
    parts = urlsplit(admin_dsn)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user)}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    path = f"/{database}" if database else parts.path
    return urlunsplit((parts.scheme, netloc, path, parts.query, ""))


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at another database, same login."""
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


async def create_database(admin_dsn: str, name: str) -> None:
    """Create database ``name`` if it does not exist."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def provision(admin_dsn: str, passwords: Mapping[str, str]) -> None:
    """Lock the database down and give each service its role and schema."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        await lock_down_database(conn)
        for service, password in passwords.items():
            await provision_service(conn, service, password)
    finally:
        await conn.close()


async def migrate_service(dsn: str, schema: str, migrations_dir: Path | None) -> list[str]:
    """Apply a service's pending migrations as the service's own role."""
    conn = await connect(dsn, schema, application_name=f"{schema}-migrate")
    try:
        return await migrate(conn, schema, load_migrations(migrations_dir))
    finally:
        await conn.close()


async def prepare_service(
    admin_dsn: str, name: str, migrations_dir: Path | None, password: str | None = None
) -> str:
    """Provision role and schema ``name`` in ``admin_dsn``'s database, migrate it, and
    return the DSN of the service's own role."""
    password = password or secrets.token_urlsafe(16)
    await provision(admin_dsn, {name: password})
    dsn = dsn_for(admin_dsn, user=name, password=password)
    await migrate_service(dsn, name, migrations_dir)
    return dsn
