"""SQL for users' passkeys and the WebAuthn challenges handed out."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.auth.domain.model import Passkey, PasskeyChallenge
from shared.db.uow import AlreadyExists

_COLUMNS = (
    "id, user_id, tenant_id, label, credential_id, public_key, sign_count, created_at, "
    "last_used_at, revoked_at"
)


def _passkey(row: asyncpg.Record) -> Passkey:
    values = dict(row)
    return Passkey(**{**values, "credential_id": bytes(values["credential_id"]),
                      "public_key": bytes(values["public_key"])})  # fmt: skip


class Passkeys:
    """The WebAuthn credentials people sign in with."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, k: Passkey) -> None:
        """Insert a passkey; AlreadyExists when its credential id is known already."""
        try:
            async with self.conn.transaction():
                await self.conn.execute(
                    f"INSERT INTO passkeys ({_COLUMNS}) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    k.id, k.user_id, k.tenant_id, k.label, k.credential_id, k.public_key,
                    k.sign_count, k.created_at, k.last_used_at, k.revoked_at,
                )  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise AlreadyExists("credential") from None

    async def by_credential(self, credential_id: bytes) -> Passkey | None:
        """The passkey of a credential id, its row locked."""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM passkeys WHERE credential_id = $1 FOR UPDATE", credential_id
        )
        return _passkey(row) if row else None

    async def of_user(self, user_id: uuid.UUID) -> list[Passkey]:
        """A user's passkeys, oldest first, revoked ones included."""
        rows = await self.conn.fetch(
            f"SELECT {_COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id",
            user_id,
        )
        return [_passkey(r) for r in rows]

    async def used(self, passkey_id: uuid.UUID, sign_count: int, at: datetime) -> None:
        """Record a sign-in with the passkey and the counter it reported."""
        await self.conn.execute(
            "UPDATE passkeys SET sign_count = $2, last_used_at = $3 WHERE id = $1",
            passkey_id, sign_count, at,
        )  # fmt: skip

    async def revoke(self, user_id: uuid.UUID, passkey_id: uuid.UUID, at: datetime) -> bool:
        """Revoke one active passkey of a user; whether one was."""
        done = await self.conn.execute(
            "UPDATE passkeys SET revoked_at = $3 "
            "WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL",
            user_id, passkey_id, at,
        )  # fmt: skip
        return str(done).endswith(" 1")


class PasskeyChallenges:
    """WebAuthn challenges, single use."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, c: PasskeyChallenge) -> None:
        """Keep a challenge (and forget those that expired a while ago)."""
        await self.conn.execute(
            "DELETE FROM passkey_challenges WHERE expires_at < $1", c.created_at
        )
        await self.conn.execute(
            "INSERT INTO passkey_challenges "
            "(challenge_hash, purpose, user_id, created_at, expires_at, used_at) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            c.challenge_hash, c.purpose, c.user_id, c.created_at, c.expires_at, c.used_at,
        )  # fmt: skip

    async def take(self, challenge_hash: bytes, at: datetime) -> PasskeyChallenge | None:
        """Mark an unused challenge used and return it (None: unknown or used)."""
        row = await self.conn.fetchrow(
            "UPDATE passkey_challenges SET used_at = $2 "
            "WHERE challenge_hash = $1 AND used_at IS NULL "
            "RETURNING challenge_hash, purpose, user_id, created_at, expires_at, used_at",
            challenge_hash, at,
        )  # fmt: skip
        if row is None:
            return None
        return PasskeyChallenge(**{**dict(row), "challenge_hash": bytes(row["challenge_hash"])})
