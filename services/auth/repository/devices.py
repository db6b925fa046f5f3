"""SQL for device credentials and the printers each connector bridges."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from services.auth.domain.model import DeviceCredential

_CREDENTIAL_COLUMNS = (
    "device_id, tenant_id, subject_type, subject_id, public_key, key_algorithm, fingerprint, "
    "model, claimed_at, issued_at, revoked_at"
)


class DeviceCredentials:
    """The keys claimed devices prove themselves with."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def get(
        self, device_id: uuid.UUID, *, for_update: bool = False
    ) -> DeviceCredential | None:
        """A device's credential (active or revoked); ``for_update`` locks its row."""
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {_CREDENTIAL_COLUMNS} FROM device_credentials WHERE device_id = $1{lock}",
            device_id,
        )
        if row is None:
            return None
        return DeviceCredential(**{**dict(row), "public_key": bytes(row["public_key"])})

    async def active_device_with_key(self, fingerprint: str) -> uuid.UUID | None:
        """The device whose active credential has this key, if any."""
        device: uuid.UUID | None = await self.conn.fetchval(
            "SELECT device_id FROM device_credentials "
            "WHERE fingerprint = $1 AND revoked_at IS NULL",
            fingerprint,
        )
        return device

    async def put(self, c: DeviceCredential) -> None:
        """Insert or replace a device's credential."""
        await self.conn.execute(
            f"""
            INSERT INTO device_credentials ({_CREDENTIAL_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (device_id) DO UPDATE SET
                tenant_id = excluded.tenant_id, subject_type = excluded.subject_type,
                subject_id = excluded.subject_id, public_key = excluded.public_key,
                key_algorithm = excluded.key_algorithm, fingerprint = excluded.fingerprint,
                model = excluded.model, claimed_at = excluded.claimed_at,
                issued_at = excluded.issued_at, revoked_at = excluded.revoked_at
            """,
            c.device_id, c.tenant_id, c.subject_type, c.subject_id, c.public_key,
            c.key_algorithm, c.fingerprint, c.model, c.claimed_at, c.issued_at, c.revoked_at,
        )  # fmt: skip

    async def revoke(self, device_id: uuid.UUID, at: datetime) -> None:
        """Mark a device's credential revoked."""
        await self.conn.execute(
            "UPDATE device_credentials SET revoked_at = $2 WHERE device_id = $1", device_id, at
        )

    async def record_token_timestamp(self, device_id: uuid.UUID, timestamp: int) -> None:
        """Remember the last timestamp a device signed for a device access token."""
        await self.conn.execute(
            "UPDATE device_credentials SET last_token_timestamp = $2 WHERE device_id = $1",
            device_id,
            timestamp,
        )

    async def last_token_timestamp(self, device_id: uuid.UUID) -> int:
        """The last timestamp a device signed for a device access token (0: none yet)."""
        stamp: int | None = await self.conn.fetchval(
            "SELECT last_token_timestamp FROM device_credentials WHERE device_id = $1", device_id
        )
        return stamp or 0


class ConnectorPrinters:
    """Which printers each connector bridges (learnt from the registry's events)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def put(
        self,
        connector_id: uuid.UUID,
        tenant_id: uuid.UUID,
        revision: int,
        printer_ids: Sequence[uuid.UUID],
    ) -> bool:
        """Replace a connector's printers unless a newer revision is stored; True if applied."""
        applied: uuid.UUID | None = await self.conn.fetchval(
            """
            INSERT INTO connector_printers (connector_id, tenant_id, revision, printer_ids)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (connector_id) DO UPDATE SET
                tenant_id = excluded.tenant_id, revision = excluded.revision,
                printer_ids = excluded.printer_ids
            WHERE connector_printers.revision < excluded.revision
            RETURNING connector_id
            """,
            connector_id,
            tenant_id,
            revision,
            list(printer_ids),
        )
        return applied is not None

    async def bridges(
        self, connector_id: uuid.UUID, tenant_id: uuid.UUID, printer_id: uuid.UUID
    ) -> bool:
        """Whether the connector, of that tenant, bridges the printer now."""
        found: bool = await self.conn.fetchval(
            """
            SELECT EXISTS (SELECT 1 FROM connector_printers
                           WHERE connector_id = $1 AND tenant_id = $2
                             AND $3 = ANY (printer_ids))
            """,
            connector_id,
            tenant_id,
            printer_id,
        )
        return found
