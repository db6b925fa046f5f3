"""asyncpg pools bound to one service schema."""

from __future__ import annotations

import json
from typing import Any

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


def connect_kwargs(schema: str, application_name: str) -> dict[str, Any]:
    """Connection options shared by pools and single connections."""
    return {
        "server_settings": {"search_path": schema, "application_name": application_name},
        "command_timeout": 30,
    }


async def create_pool(
    dsn: str, schema: str, *, application_name: str, min_size: int = 2, max_size: int = 10
) -> asyncpg.Pool:
    """A pool whose connections see only ``schema`` by default, with JSON codecs."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        **connect_kwargs(schema, application_name),
    )
    assert pool is not None
    return pool


async def connect(dsn: str, schema: str, *, application_name: str) -> asyncpg.Connection:
    """One dedicated connection (relay lock holder, migrations runner)."""
    conn = await asyncpg.connect(dsn, **connect_kwargs(schema, application_name))
    await _init_connection(conn)
    return conn
