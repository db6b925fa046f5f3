"""Migrations and per-service isolation on the real Postgres."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from shared.db.migrate import MigrationError, load_migrations, migrate, pending
from shared.db.pool import connect
from shared.testing.fixtures import ServiceDbFactory, unique

pytestmark = pytest.mark.integration


async def _run(dsn: str, schema: str, directory: Path) -> list[str]:
    conn = await connect(dsn, schema, application_name="test-migrate")
    try:
        return await migrate(conn, schema, load_migrations(directory))
    finally:
        await conn.close()


async def test_applied_once_then_noop_then_changed_file_refused(
    service_db: ServiceDbFactory, tmp_path: Path
) -> None:
    db = await service_db(unique("m"))
    (tmp_path / "0001_widgets.sql").write_text("CREATE TABLE widgets (id int PRIMARY KEY);")
    assert await _run(db.dsn, db.name, tmp_path) == ["0001_widgets"]
    assert await _run(db.dsn, db.name, tmp_path) == []

    (tmp_path / "0002_gadgets.sql").write_text("CREATE TABLE gadgets (id int);")
    conn = await connect(db.dsn, db.name, application_name="t")
    try:
        assert await pending(conn, load_migrations(tmp_path)) == ["0002_gadgets"]
    finally:
        await conn.close()
    assert await _run(db.dsn, db.name, tmp_path) == ["0002_gadgets"]

    (tmp_path / "0001_widgets.sql").write_text("CREATE TABLE widgets (id bigint PRIMARY KEY);")
    with pytest.raises(MigrationError, match="0001_widgets was changed after it was applied"):
        await _run(db.dsn, db.name, tmp_path)


async def test_a_failing_migration_leaves_nothing_half_done(
    service_db: ServiceDbFactory, tmp_path: Path
) -> None:
    db = await service_db(unique("m"))
    (tmp_path / "0001_broken.sql").write_text("CREATE TABLE t1 (id int); SELECT nonsense;")
    with pytest.raises(asyncpg.UndefinedColumnError):
        await _run(db.dsn, db.name, tmp_path)
    conn = await asyncpg.connect(db.dsn)
    try:
        assert await conn.fetchval(f"SELECT to_regclass('{db.name}.t1')") is None
        ids = await conn.fetch(f"SELECT id FROM {db.name}.schema_migrations")
        assert [r["id"] for r in ids] == ["shared/0001_outbox_inbox"]
    finally:
        await conn.close()


async def test_two_concurrent_runners_apply_each_file_once(
    service_db: ServiceDbFactory, tmp_path: Path
) -> None:
    db = await service_db(unique("m"))
    (tmp_path / "0001_slow.sql").write_text(
        "SELECT pg_sleep(1); CREATE TABLE counted (n int); INSERT INTO counted VALUES (1);"
    )
    first, second = await asyncio.gather(
        _run(db.dsn, db.name, tmp_path), _run(db.dsn, db.name, tmp_path)
    )
    assert sorted([first, second]) == [[], ["0001_slow"]]
    conn = await asyncpg.connect(db.dsn)
    try:
        assert await conn.fetchval(f"SELECT count(*) FROM {db.name}.counted") == 1
    finally:
        await conn.close()


async def test_a_service_role_cannot_reach_another_schema(service_db: ServiceDbFactory) -> None:
    alpha = await service_db(unique("a"))
    beta = await service_db(unique("b"))
    conn = await asyncpg.connect(alpha.dsn)
    try:
        assert await conn.fetchval("SELECT current_schema()") == alpha.name
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
        for sql in (
            f"SELECT count(*) FROM {beta.name}.outbox",
            f"INSERT INTO {beta.name}.outbox (event_id, topic, key, payload) "
            "VALUES (gen_random_uuid(), 't', 'k', '{}')",
            f"CREATE TABLE {beta.name}.intruder (id int)",
            "CREATE TABLE public.intruder (id int)",
            "CREATE SCHEMA intruder",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
    finally:
        await conn.close()
