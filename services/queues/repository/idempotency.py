"""Idempotency keys of submissions, scoped by (tenant, owner, key)."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.queues.domain.model import Document, KeyClaim


class Idempotency:
    """Idempotency keys of submissions."""

    conn: asyncpg.Connection
    schema: str

    async def claim_idempotency_key(
        self,
        *,
        tenant_id: uuid.UUID,
        owner_id: uuid.UUID,
        key: str,
        fingerprint: str,
        resource: str,
        resource_id: uuid.UUID,
        ttl_s: int,
    ) -> KeyClaim:
        """Record the key for ``resource_id`` unless a live (younger than ``ttl_s``) record
        of it exists; returns the record that holds the key now.

        A concurrent transaction holding the same key makes this wait until it ends: its
        record is then returned (committed) or the key is claimed here (rolled back).
        """
        claimed = await self.conn.fetchrow(
            """
            INSERT INTO idempotency_keys
                (tenant_id, owner_id, key, fingerprint, resource, resource_id)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (tenant_id, owner_id, key) DO UPDATE
                SET fingerprint = EXCLUDED.fingerprint, resource = EXCLUDED.resource,
                    resource_id = EXCLUDED.resource_id, created_at = now()
                WHERE idempotency_keys.created_at
                      <= now() - make_interval(secs => $7::double precision)
            RETURNING *
            """,
            tenant_id,
            owner_id,
            key,
            fingerprint,
            resource,
            resource_id,
            float(ttl_s),
        )
        if claimed is not None:
            return KeyClaim(claimed["fingerprint"], claimed["resource"], claimed["resource_id"])
        # A separate statement: it sees the record the concurrent transaction committed.
        held = await self.conn.fetchrow(
            "SELECT * FROM idempotency_keys WHERE tenant_id = $1 AND owner_id = $2 AND key = $3",
            tenant_id,
            owner_id,
            key,
        )
        assert held is not None
        return KeyClaim(held["fingerprint"], held["resource"], held["resource_id"])

    async def delete_idempotency_keys_before(self, cutoff: datetime, limit: int) -> int:
        """Forget up to ``limit`` keys recorded before ``cutoff``; how many went."""
        status = await self.conn.execute(
            """
            DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
                SELECT ctid FROM idempotency_keys WHERE created_at < $1
                ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED))
            """,
            cutoff,
            limit,
        )
        return int(status.split()[-1])

    async def any_document(self, document_id: uuid.UUID) -> Document | None:
        """A document by id, deleted or not (what an upload created)."""
        row = await self.conn.fetchrow("SELECT * FROM documents WHERE id = $1", document_id)
        return Document(**dict(row)) if row else None
