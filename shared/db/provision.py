"""Create each service's login role and schema, with privileges that stop there.

Run with a superuser (or a role with CREATEROLE and database ownership) once per
database; re-running changes nothing but passwords given again. In production
CloudNativePG manages the roles and this step only creates the schemas.
"""

from __future__ import annotations

import re

import asyncpg

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"{name!r} is not a valid role/schema name (lowercase, digits, '_')")
    return f'"{name}"'


async def lock_down_database(conn: asyncpg.Connection) -> None:
    """Nobody but a schema's owner may use it; PUBLIC loses the public schema and temp."""
    db = await conn.fetchval("SELECT current_database()")
    await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    await conn.execute(f"REVOKE ALL ON DATABASE {_ident(db)} FROM PUBLIC")


async def provision_service(conn: asyncpg.Connection, service: str, password: str) -> None:
    """Ensure role ``service`` (LOGIN) owns schema ``service`` and can reach nothing else."""
    role = _ident(service)
    db = await conn.fetchval("SELECT current_database()")
    async with conn.transaction():
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", service)
        verb = "ALTER" if exists else "CREATE"
        # Passwords cannot be bind parameters in DDL; quote_literal does the escaping.
        literal = await conn.fetchval("SELECT quote_literal($1)", password)
        await conn.execute(
            f"{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            f"NOINHERIT PASSWORD {literal}"
        )
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {role} AUTHORIZATION {role}")
        await conn.execute(f"REVOKE ALL ON SCHEMA {role} FROM PUBLIC")
        await conn.execute(f"GRANT CONNECT ON DATABASE {_ident(db)} TO {role}")
        await conn.execute(f"ALTER ROLE {role} IN DATABASE {_ident(db)} SET search_path = {role}")
