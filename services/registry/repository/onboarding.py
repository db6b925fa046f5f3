"""SQL for registrations (devices asking to join) and the onboarding attempt counters."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from services.registry.domain.onboarding import DeviceKey, Registration
from shared.crypto.keys import KEY_ALGORITHMS
from shared.db.uow import AlreadyExists

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


class Registrations:
    """Devices' requests to join, pending until claimed."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, r: Registration) -> None:
        """Insert a registration; AlreadyExists if its key or pending code is taken (the
        enclosing transaction stays usable)."""
        try:
            async with self.conn.transaction():
                await self.conn.execute(
                    f"INSERT INTO registrations ({_COLUMNS}) VALUES "
                    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                    r.id, r.kind, r.model, r.key.der, r.key.algorithm, r.key.fingerprint,
                    r.claim_code, r.source, r.status, r.created_at, r.expires_at, r.tenant_id,
                    r.device_id, r.claimed_at, r.last_poll,
                )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("registration") from None

    async def save(self, r: Registration) -> None:
        """Write back status, claim, code and poll fields; AlreadyExists if the new code is
        taken among pending ones (the enclosing transaction stays usable)."""
        try:
            async with self.conn.transaction():
                await self.conn.execute(
                    "UPDATE registrations SET status = $2, tenant_id = $3, device_id = $4, "
                    "claimed_at = $5, last_poll = $6, claim_code = $7, expires_at = $8 "
                    "WHERE id = $1",
                    r.id, r.status, r.tenant_id, r.device_id, r.claimed_at, r.last_poll,
                    r.claim_code, r.expires_at,
                )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("claim_code") from None

    async def get(
        self, registration_id: uuid.UUID, *, for_update: bool = False
    ) -> Registration | None:
        """A registration by id."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM registrations WHERE id = $1{lock}", registration_id
        )
        return _registration(row) if row else None

    async def by_fingerprint(
        self, fingerprint: str, *, for_update: bool = False
    ) -> Registration | None:
        """The registration of a device key, if any."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM registrations WHERE fingerprint = $1{lock}", fingerprint
        )
        return _registration(row) if row else None

    async def pending_by_code(self, code: str) -> Registration | None:
        """The pending registration with this claim code, locked for the claim."""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM registrations WHERE claim_code = $1 "
            "AND status = 'pending' FOR UPDATE",
            code,
        )
        return _registration(row) if row else None


class OnboardingAttempts:
    """Attempts counted per bucket (registrations per client, failed claims per tenant)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def reserve(self, bucket: str, limit: int, window: timedelta) -> int | None:
        """Count one attempt in ``bucket`` unless ``limit`` attempts were made within
        ``window``: the attempt's id, or None when the limit is reached. Check and record
        are one step under a transaction-scoped lock on the bucket, so concurrent
        attempts cannot all pass the check."""
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('onboarding:' || $1, 0))", bucket
        )
        await self.conn.execute(
            "DELETE FROM onboarding_attempts WHERE bucket = $1 AND at < now() - $2::interval",
            bucket,
            window,
        )
        attempt = await self.conn.fetchval(
            "INSERT INTO onboarding_attempts (bucket) SELECT $1 "
            "WHERE (SELECT count(*) FROM onboarding_attempts WHERE bucket = $1) < $2 "
            "RETURNING id",
            bucket,
            limit,
        )
        return int(attempt) if attempt is not None else None

    async def release(self, attempt: int) -> None:
        """Give back a reserved attempt (a claim that succeeded is not a failure)."""
        await self.conn.execute("DELETE FROM onboarding_attempts WHERE id = $1", attempt)
