"""Looking into a service's schema from a test: to observe, never to change state."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from shared.db.pool import connect
from tests.support.waiting import eventually


class SchemaProbe:
    """A rig with ``dsn`` and ``schema`` (a dataclass's fields) gains ``db()`` and ``until()``."""

    dsn: str
    schema: str

    @contextlib.asynccontextmanager
    async def db(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection to the service's schema."""
        conn = await connect(self.dsn, self.schema, application_name="test")
        try:
            yield conn
        finally:
            await conn.close()

    async def until(self, sql: str, *args: Any, timeout: float = 30) -> Any:
        """Poll ``sql`` until its first row's first value is there and not empty (None,
        0, false, ''); returns that value."""
        found: list[Any] = []

        async def check() -> bool:
            async with self.db() as conn:
                value = await conn.fetchval(sql, *args)
            if value:
                found.append(value)
            return bool(value)

        await eventually(check, timeout, sql.split("WHERE")[0].strip())
        return found[0]
