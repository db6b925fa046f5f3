"""``printcloud migrate-check``: what the Deployments' init containers run."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from deploy.catalog import load_spec
from deploy.cli import app
from shared.testing.fixtures import ServiceDbFactory, unique

pytestmark = pytest.mark.integration


def _check(monkeypatch: pytest.MonkeyPatch, dsn: str, schema: str, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("PRINTCLOUD_REGISTRY_DATABASE_URL", dsn)
    monkeypatch.setenv("PRINTCLOUD_REGISTRY_DB_SCHEMA", schema)
    result = CliRunner().invoke(app, ["migrate-check", "registry", *args])
    return result.exit_code, result.output


async def test_migrate_check_passes_when_applied_and_fails_while_pending(
    service_db: ServiceDbFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrated = await service_db(unique("reg_ok"), load_spec("registry").migrations_dir)
    behind = await service_db(unique("reg_behind"))  # the shared baseline only

    code, out = await asyncio.to_thread(_check, monkeypatch, migrated.dsn, migrated.name)
    assert code == 0, out
    code, out = await asyncio.to_thread(
        _check, monkeypatch, behind.dsn, behind.name, "--wait", "0.5", "--interval", "0.2"
    )
    assert code == 1 and "pending" in out, out
    assert "0001_" in out


async def test_migrate_check_fails_when_the_database_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dsn = "postgresql://registry:x@127.0.0.1:9/printcloud"
    code, out = await asyncio.to_thread(_check, monkeypatch, dsn, "registry")
    assert code == 1 and "cannot check" in out, out
