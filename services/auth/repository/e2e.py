"""SQL for printers' published end-to-end key offers (one per printer, the latest)."""

from __future__ import annotations

import uuid

import asyncpg

from shared.crypto.e2e import KeyOffer


class E2EKeys:
    """The key offer each printer published last."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def put(self, tenant_id: uuid.UUID, offer: KeyOffer) -> None:
        """Keep ``offer`` as the device's current one (replacing the one before)."""
        await self.conn.execute(
            """
            INSERT INTO e2e_keys (device_id, tenant_id, key_id, public_key, expires_at, signature)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (device_id) DO UPDATE SET
                tenant_id = EXCLUDED.tenant_id, key_id = EXCLUDED.key_id,
                public_key = EXCLUDED.public_key, expires_at = EXCLUDED.expires_at,
                signature = EXCLUDED.signature, published_at = now()
            """,
            offer.device_id, tenant_id, offer.key_id, offer.public_key, offer.expires_at,
            offer.signature,
        )  # fmt: skip

    async def get(self, device_id: uuid.UUID) -> KeyOffer | None:
        """The device's current offer, if it published one."""
        row = await self.conn.fetchrow(
            "SELECT device_id, key_id, public_key, expires_at, signature FROM e2e_keys "
            "WHERE device_id = $1",
            device_id,
        )
        return None if row is None else KeyOffer(**dict(row))
