"""SQL for users' phone keys and printers' login challenges."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.auth.domain.model import LoginChallenge, PhoneKey
from shared.db.uow import AlreadyExists

_PHONE_KEY_COLUMNS = (
    "id, user_id, tenant_id, label, algorithm, public_key, fingerprint, created_at, "
    "last_used_at, revoked_at"
)
_CHALLENGE_COLUMNS = (
    "challenge_hash, tenant_id, printer_id, device_id, created_at, expires_at, failures, "
    "used_at, key_id, session_id"
)


def _phone_key(row: asyncpg.Record) -> PhoneKey:
    return PhoneKey(**{**dict(row), "public_key": bytes(row["public_key"])})


class PhoneKeys:
    """The keys users' phones approve logins with."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, k: PhoneKey) -> None:
        """Insert a phone key; AlreadyExists if the key is active for anyone already (the
        enclosing transaction stays usable)."""
        try:
            async with self.conn.transaction():
                await self.conn.execute(
                    f"""
                    INSERT INTO phone_keys ({_PHONE_KEY_COLUMNS})
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                    """,
                    k.id, k.user_id, k.tenant_id, k.label, k.algorithm, k.public_key,
                    k.fingerprint, k.created_at, k.last_used_at, k.revoked_at,
                )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("public_key") from None

    async def get(self, key_id: uuid.UUID, *, for_update: bool = False) -> PhoneKey | None:
        """A phone key (active or revoked); ``for_update`` locks its row."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_PHONE_KEY_COLUMNS} FROM phone_keys WHERE id = $1{lock}", key_id
        )
        return _phone_key(row) if row else None

    async def of_user(self, user_id: uuid.UUID) -> list[PhoneKey]:
        """A user's phone keys, oldest first, revoked ones included."""
        rows = await self.conn.fetch(
            f"SELECT {_PHONE_KEY_COLUMNS} FROM phone_keys WHERE user_id = $1 "
            "ORDER BY created_at, id",
            user_id,
        )
        return [_phone_key(r) for r in rows]

    async def count_active(self, user_id: uuid.UUID) -> int:
        """How many phone keys of the user are not revoked."""
        count: int = await self.conn.fetchval(
            "SELECT count(*) FROM phone_keys WHERE user_id = $1 AND revoked_at IS NULL", user_id
        )
        return count

    async def revoke(
        self, user_id: uuid.UUID, at: datetime, key_id: uuid.UUID | None = None
    ) -> None:
        """Revoke one active phone key of a user, or all of them."""
        await self.conn.execute(
            """
            UPDATE phone_keys SET revoked_at = $2
            WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id = $3)
            """,
            user_id,
            at,
            key_id,
        )

    async def touch(self, key_id: uuid.UUID, at: datetime) -> None:
        """Record that a phone key approved a login."""
        await self.conn.execute("UPDATE phone_keys SET last_used_at = $2 WHERE id = $1", key_id, at)


class LoginChallenges:
    """One-time challenges printers show (by hash); each approves at most one login."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, c: LoginChallenge) -> None:
        """Store a new login challenge (its hash)."""
        await self.conn.execute(
            f"""
            INSERT INTO login_challenges ({_CHALLENGE_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            """,
            c.challenge_hash, c.tenant_id, c.printer_id, c.device_id, c.created_at,
            c.expires_at, c.failures, c.used_at, c.key_id, c.session_id,
        )  # fmt: skip

    async def get(
        self, challenge_hash: bytes, *, for_update: bool = False
    ) -> LoginChallenge | None:
        """A login challenge by its hash; ``for_update`` locks its row."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_CHALLENGE_COLUMNS} FROM login_challenges WHERE challenge_hash = $1{lock}",
            challenge_hash,
        )
        if row is None:
            return None
        return LoginChallenge(**{**dict(row), "challenge_hash": bytes(row["challenge_hash"])})

    async def count_failure(self, challenge_hash: bytes) -> None:
        """One more failed attempt at a challenge."""
        await self.conn.execute(
            "UPDATE login_challenges SET failures = failures + 1 WHERE challenge_hash = $1",
            challenge_hash,
        )

    async def use(
        self, challenge_hash: bytes, at: datetime, key_id: uuid.UUID, session_id: uuid.UUID
    ) -> None:
        """Mark a challenge used by a key for a session."""
        await self.conn.execute(
            """
            UPDATE login_challenges SET used_at = $2, key_id = $3, session_id = $4
            WHERE challenge_hash = $1
            """,
            challenge_hash,
            at,
            key_id,
            session_id,
        )

    async def purge(self, expired_before: datetime) -> int:
        """Delete challenges that expired before ``expired_before``; how many went."""
        status = await self.conn.execute(
            "DELETE FROM login_challenges WHERE expires_at < $1", expired_before
        )
        return int(status.split()[-1])

    async def lock_printer(self, printer_id: uuid.UUID) -> None:
        """Serialise approvals at one printer (its events keep their commit order)."""
        await self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('printcloud.login:' || $1::uuid, 0))",
            printer_id,
        )
