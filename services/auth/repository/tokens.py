"""SQL for API tokens (stored by the hash of their secret, never the secret)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.auth.domain.model import ApiToken, User
from services.auth.repository.users import USER_COLUMNS

TOKEN_COLUMNS = (
    "id, user_id, tenant_id, name, scopes, created_at, expires_at, revoked_at, last_used_at"
)


def _token(row: asyncpg.Record) -> ApiToken:
    return ApiToken(**{**dict(row), "scopes": frozenset(row["scopes"])})


class ApiTokens:
    """Users' API tokens."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, t: ApiToken, token_hash: bytes) -> None:
        """Store a new API token by the hash of its secret."""
        await self.conn.execute(
            """
            INSERT INTO api_tokens (id, user_id, tenant_id, name, token_hash, scopes,
                                    created_at, expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """,
            t.id, t.user_id, t.tenant_id, t.name, token_hash, sorted(t.scopes), t.created_at,
            t.expires_at,
        )  # fmt: skip

    async def get(self, token_id: uuid.UUID, *, for_update: bool = False) -> ApiToken | None:
        """An API token by id; ``for_update`` locks its row."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1{lock}", token_id
        )
        return _token(row) if row else None

    async def of_user(self, user_id: uuid.UUID) -> list[ApiToken]:
        """A user's API tokens, revoked ones included, newest first."""
        rows = await self.conn.fetch(
            f"SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 "
            "ORDER BY created_at DESC, id",
            user_id,
        )
        return [_token(r) for r in rows]

    async def revoke(self, token_ids: Sequence[uuid.UUID], at: datetime) -> list[ApiToken]:
        """Revoke the tokens not yet revoked among ``token_ids``; returns those."""
        rows = await self.conn.fetch(
            f"""
            UPDATE api_tokens SET revoked_at = $2
            WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL RETURNING {TOKEN_COLUMNS}
            """,
            list(token_ids),
            at,
        )
        return [_token(r) for r in rows]

    async def lock_live_of_user(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        """Lock a user's live tokens (in id order, as every writer does) and name them."""
        rows = await self.conn.fetch(
            "SELECT id FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id "
            "FOR UPDATE",
            user_id,
        )
        return [r["id"] for r in rows]

    async def by_hash(self, token_hash: bytes) -> tuple[ApiToken, User, bytes] | None:
        """The token with this secret hash, its live user and the stored hash."""
        row = await self.conn.fetchrow(
            f"""
            SELECT {", ".join("t." + c for c in TOKEN_COLUMNS.split(", "))}, t.token_hash,
                   {", ".join("u." + c + " AS u_" + c for c in USER_COLUMNS.split(", "))}
            FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.deleted_at IS NULL
            WHERE t.token_hash = $1
            """,
            token_hash,
        )
        if row is None:
            return None
        record = dict(row)
        user = {k.removeprefix("u_"): record.pop(k) for k in list(record) if k.startswith("u_")}
        stored = record.pop("token_hash")
        token = ApiToken(**{**record, "scopes": frozenset(record["scopes"])})
        return token, User(**{**user, "roles": frozenset(user["roles"])}), bytes(stored)

    async def touch(self, token_id: uuid.UUID, at: datetime) -> None:
        """Remember when a token was last exchanged."""
        await self.conn.execute(
            "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", token_id, at
        )
