"""``printcloud auth rotate-keys``: the operator's rotation, from the composition layer."""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg
import pytest

from services.auth.app import SPEC
from shared.testing.fixtures import ServiceDbFactory, unique
from tests.support.auth import KEK

pytestmark = pytest.mark.integration


async def test_printcloud_auth_rotate_keys_publishes_a_new_key(
    service_db: ServiceDbFactory,
) -> None:
    db = await service_db(unique("auth"), SPEC.migrations_dir)
    env = {
        **os.environ,
        "PRINTCLOUD_AUTH_DATABASE_URL": db.dsn,
        "PRINTCLOUD_AUTH_DB_SCHEMA": db.name,
        "PRINTCLOUD_AUTH_KEY_ENCRYPTION_KEY": KEK,
    }
    kids = []
    for _ in range(2):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "deploy.cli", "auth", "rotate-keys", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await proc.communicate()
        assert proc.returncode == 0, out.decode()
        said = [line for line in out.decode().splitlines() if line.startswith("new signing key ")]
        assert len(said) == 1, out.decode()
        kids.append(said[0].split()[3].rstrip(","))
    assert kids[0] != kids[1]
    conn = await asyncpg.connect(db.dsn)
    try:
        count = await conn.fetchval(f'SELECT count(*) FROM "{db.name}".signing_keys')
    finally:
        await conn.close()
    assert count >= 2
