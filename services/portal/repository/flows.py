"""SQL for sign-ins under way at an identity provider."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from services.portal.domain.model import SignInFlow

_COLUMNS = "state_hash, browser_hash, tenant_id, nonce, code_verifier, redirect_uri, expires_at"


class SignInFlows:
    """Single-use sign-in flows, by the hash of their state."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def insert(self, f: SignInFlow) -> None:
        """Keep a new flow."""
        await self.conn.execute(
            f"INSERT INTO sign_in_flows ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            f.state_hash, f.browser_hash, f.tenant_id, f.nonce, f.code_verifier,
            f.redirect_uri, f.expires_at,
        )  # fmt: skip

    async def take(self, state_hash: bytes) -> SignInFlow | None:
        """Remove and return the flow of a state (a state is good once), or None."""
        row = await self.conn.fetchrow(
            f"DELETE FROM sign_in_flows WHERE state_hash = $1 RETURNING {_COLUMNS}", state_hash
        )
        if row is None:
            return None
        values = dict(row)
        return SignInFlow(**{**values, "state_hash": bytes(values["state_hash"]),
                             "browser_hash": bytes(values["browser_hash"])})  # fmt: skip

    async def delete_expired(self, now: datetime) -> int:
        """Forget flows never finished; how many."""
        done = await self.conn.execute("DELETE FROM sign_in_flows WHERE expires_at <= $1", now)
        return int(str(done).rsplit(" ", 1)[-1])
