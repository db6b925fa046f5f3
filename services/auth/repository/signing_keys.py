"""SQL for the access-token signing keys (private halves sealed)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.auth.domain.keys import KeySlot

_KEYS_LOCK = int.from_bytes(
    hashlib.sha256(b"printcloud.auth.signing_keys").digest()[:8], "big", signed=True
)


class SigningKeys:
    """The signing keys every replica shares."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def lock(self) -> None:
        """Serialise key rotation across replicas until the transaction ends."""
        await self.conn.execute("SELECT pg_advisory_xact_lock($1)", _KEYS_LOCK)

    async def slots(self) -> list[KeySlot]:
        """Every signing key's schedule."""
        rows = await self.conn.fetch("SELECT kid, created_at, activates_at FROM signing_keys")
        return [KeySlot(**dict(r)) for r in rows]

    async def insert(
        self, slot: KeySlot, algorithm: str, jwk: dict[str, str], sealed: bytes
    ) -> None:
        """Store a new signing key (its private half already sealed)."""
        await self.conn.execute(
            "INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key, created_at, "
            "activates_at) VALUES ($1, $2, $3, $4, $5, $6)",
            slot.kid,
            algorithm,
            jwk,
            sealed,
            slot.created_at,
            slot.activates_at,
        )

    async def delete(self, kids: Sequence[str]) -> None:
        """Remove signing keys."""
        await self.conn.execute("DELETE FROM signing_keys WHERE kid = ANY($1::text[])", list(kids))

    async def sealed_signing_key(self, at: datetime) -> tuple[str, bytes] | None:
        """``(kid, sealed private key)`` of the key that signs at ``at``."""
        row = await self.conn.fetchrow(
            "SELECT kid, private_key FROM signing_keys WHERE activates_at <= $1 "
            "ORDER BY activates_at DESC, kid DESC LIMIT 1",
            at,
        )
        return (row["kid"], bytes(row["private_key"])) if row else None

    async def public_keys(self) -> list[tuple[KeySlot, dict[str, Any]]]:
        """Every key's schedule and public JWK."""
        rows = await self.conn.fetch(
            "SELECT kid, created_at, activates_at, public_jwk FROM signing_keys"
        )
        return [
            (KeySlot(r["kid"], r["created_at"], r["activates_at"]), dict(r["public_jwk"]))
            for r in rows
        ]
