"""Forward-only SQL migrations, one ledger per service schema.

A service's migrations are the shared baseline (``shared/db/migrations``: outbox
and inbox) followed by its own ``services/<name>/migrations/NNNN_<what>.sql``.
Each applied file is recorded with its SHA-256; a file changed after it was
applied is refused. Runners serialise on a Postgres advisory lock, so two
concurrent ``printcloud migrate`` runs apply each file once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

BASELINE_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    id          text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """Migrations cannot be applied as they are; the message says which file and why."""


@dataclass(frozen=True)
class Migration:
    """One SQL file: its ledger id (``shared/0001_x`` or ``0001_x``), text and checksum."""

    id: str
    sql: str

    @property
    def checksum(self) -> str:
        """SHA-256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def _load_dir(directory: Path, prefix: str) -> list[Migration]:
    found: dict[str, Path] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path}: name must look like 0001_create_things.sql")
        if match.group(1) in found:
            raise MigrationError(f"{path}: number {match.group(1)} used twice in {directory}")
        found[match.group(1)] = path
    return [Migration(prefix + p.stem, p.read_text()) for _, p in sorted(found.items())]


def load_migrations(service_dir: Path | None) -> list[Migration]:
    """The baseline followed by the service's own files (``service_dir`` may be None)."""
    migrations = _load_dir(BASELINE_DIR, "shared/")
    if service_dir is not None and service_dir.is_dir():
        migrations += _load_dir(service_dir, "")
    return migrations


def _lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"printcloud.migrate.{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _applied(conn: asyncpg.Connection) -> dict[str, str]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    rows = await conn.fetch("SELECT id, checksum FROM schema_migrations")
    return {r["id"]: r["checksum"] for r in rows}


def _check(
    migrations: list[Migration], applied: dict[str, str], *, allow_newer: bool = False
) -> list[Migration]:
    known = {m.id for m in migrations}
    unknown = sorted(set(applied) - known)
    if unknown and not allow_newer:
        raise MigrationError(
            f"database has migrations this code does not know: {unknown} (older code?)"
        )
    for m in migrations:
        if m.id in applied and applied[m.id] != m.checksum:
            raise MigrationError(
                f"migration {m.id} was changed after it was applied "
                f"(applied sha256 {applied[m.id][:12]}, file sha256 {m.checksum[:12]}); "
                "migrations are forward-only: add a new file instead"
            )
    return [m for m in migrations if m.id not in applied]


async def pending(conn: asyncpg.Connection, migrations: list[Migration]) -> list[str]:
    """Ids not yet applied; MigrationError if an applied file changed.

    Migrations newer than this code are allowed: during a rolling upgrade the old
    replicas keep serving on the expanded schema.
    """
    return [m.id for m in _check(migrations, await _applied(conn), allow_newer=True)]


async def migrate(conn: asyncpg.Connection, schema: str, migrations: list[Migration]) -> list[str]:
    """Apply what is pending, each file in its own transaction; returns the ids applied."""
    await conn.execute(f"SET search_path TO {_quote_ident(schema)}")
    key = _lock_key(schema)
    await conn.execute("SELECT pg_advisory_lock($1)", key)
    try:
        await conn.execute(_LEDGER)
        todo = _check(migrations, await _applied(conn))
        for m in todo:
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (id, checksum) VALUES ($1, $2)",
                    m.id,
                    m.checksum,
                )
        return [m.id for m in todo]
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", key)


def _quote_ident(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise MigrationError(f"schema name {name!r} must be lowercase letters, digits, '_'")
    return f'"{name}"'
