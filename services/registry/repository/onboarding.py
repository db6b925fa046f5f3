"""SQL for registrations, attempt counters and connectors."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from services.registry.domain.onboarding import DeviceKey, Registration
from shared.crypto.keys import KEY_ALGORITHMS

__all__ = [
    "count_attempts",
    "get_connector",
    "get_registration",
    "insert_connector",
    "insert_registration",
    "list_connector_devices",
    "pending_by_code",
    "record_attempt",
    "registration_by_fingerprint",
    "replace_connector_devices",
    "save_registration",
]

_COLUMNS = (
    "id, kind, model, public_key, key_algorithm, fingerprint, claim_code, source, status, "
    "created_at, expires_at, tenant_id, device_id, claimed_at, last_poll"
)


def _registration(row: asyncpg.Record) -> Registration:
    data = dict(row)
    algorithm = data.pop("key_algorithm")
    if algorithm not in KEY_ALGORITHMS:
        raise ValueError(f"unknown key algorithm {algorithm!r} in registration {data['id']}")
    key = DeviceKey(bytes(data.pop("public_key")), algorithm, data.pop("fingerprint"))
    return Registration(key=key, **data)


async def insert_registration(conn: asyncpg.Connection, r: Registration) -> None:
    """Insert a registration; UniqueViolationError if its key or pending code is taken."""
    await conn.execute(
        f"INSERT INTO registrations ({_COLUMNS}) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        r.id, r.kind, r.model, r.key.der, r.key.algorithm, r.key.fingerprint, r.claim_code,
        r.source, r.status, r.created_at, r.expires_at, r.tenant_id, r.device_id,
        r.claimed_at, r.last_poll,
    )  # fmt: skip


async def save_registration(conn: asyncpg.Connection, r: Registration) -> None:
    """Write back status, claim and poll fields."""
    await conn.execute(
        "UPDATE registrations SET status = $2, tenant_id = $3, device_id = $4, "
        "claimed_at = $5, last_poll = $6, claim_code = $7, expires_at = $8 WHERE id = $1",
        r.id, r.status, r.tenant_id, r.device_id, r.claimed_at, r.last_poll, r.claim_code,
        r.expires_at,
    )  # fmt: skip


async def get_registration(
    conn: asyncpg.Connection, registration_id: uuid.UUID, *, for_update: bool = False
) -> Registration | None:
    """A registration by id."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM registrations WHERE id = $1{lock}", registration_id
    )
    return _registration(row) if row else None


async def registration_by_fingerprint(
    conn: asyncpg.Connection, fingerprint: str, *, for_update: bool = False
) -> Registration | None:
    """The registration of a device key, if any."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM registrations WHERE fingerprint = $1{lock}", fingerprint
    )
    return _registration(row) if row else None


async def pending_by_code(conn: asyncpg.Connection, code: str) -> Registration | None:
    """The pending registration with this claim code, locked for the claim."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM registrations WHERE claim_code = $1 AND status = 'pending' "
        "FOR UPDATE",
        code,
    )
    return _registration(row) if row else None


async def record_attempt(conn: asyncpg.Connection, bucket: str) -> None:
    """Count one attempt in ``bucket`` (e.g. failed claims of a tenant)."""
    await conn.execute("INSERT INTO onboarding_attempts (bucket) VALUES ($1)", bucket)


async def count_attempts(conn: asyncpg.Connection, bucket: str, window: timedelta) -> int:
    """Attempts in ``bucket`` within ``window``; old rows are dropped on the way."""
    await conn.execute(
        "DELETE FROM onboarding_attempts WHERE bucket = $1 AND at < now() - $2::interval",
        bucket,
        window,
    )
    return int(
        await conn.fetchval("SELECT count(*) FROM onboarding_attempts WHERE bucket = $1", bucket)
    )


async def insert_connector(
    conn: asyncpg.Connection,
    connector_id: uuid.UUID,
    tenant_id: uuid.UUID,
    name: str,
    model: str,
    region: str,
    location: str | None,
) -> asyncpg.Record:
    """Insert a connector; UniqueViolationError if the tenant has one of that name."""
    return await conn.fetchrow(
        "INSERT INTO connectors (id, tenant_id, name, model, region, location) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        connector_id, tenant_id, name, model, region, location,
    )  # fmt: skip


async def get_connector(
    conn: asyncpg.Connection, connector_id: uuid.UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    """A connector by id."""
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(f"SELECT * FROM connectors WHERE id = $1{lock}", connector_id)


async def list_connector_devices(
    conn: asyncpg.Connection, connector_id: uuid.UUID
) -> list[asyncpg.Record]:
    """The devices a connector is responsible for, with their printer's name."""
    return list(
        await conn.fetch(
            "SELECT d.printer_id, d.uri, p.name, p.model FROM connector_devices d "
            "JOIN printers p ON p.id = d.printer_id WHERE d.connector_id = $1 ORDER BY p.name",
            connector_id,
        )
    )


async def replace_connector_devices(
    conn: asyncpg.Connection,
    connector_id: uuid.UUID,
    devices: list[tuple[uuid.UUID, str]],
    now: datetime,
) -> None:
    """Make ``devices`` (printer id, URI) the connector's whole list."""
    await conn.execute("DELETE FROM connector_devices WHERE connector_id = $1", connector_id)
    await conn.execute(
        "INSERT INTO connector_devices (connector_id, printer_id, uri) "
        "SELECT $1, p, u FROM unnest($2::uuid[], $3::text[]) AS x(p, u)",
        connector_id,
        [d[0] for d in devices],
        [d[1] for d in devices],
    )
    await conn.execute(
        "UPDATE connectors SET revision = revision + 1, updated_at = $2 WHERE id = $1",
        connector_id,
        now,
    )
