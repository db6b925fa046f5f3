"""Read models kept from other services' events: printers, virtual printers, which
connector holds a printer, users' names, sessions at printers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.queues.domain.model import Printer, Session, VirtualPrinter
from shared.events.contracts.devices import ConnectorDevicesChanged
from shared.events.contracts.groups import GroupCreated, GroupDeleted, GroupUpdated
from shared.events.contracts.registry import (
    PrinterCapabilitiesChanged,
    PrinterRegistered,
    PrinterSharingChanged,
    PrinterUpdated,
    VirtualPrinterCreated,
    VirtualPrinterSharingChanged,
    VirtualPrinterUpdated,
)
from shared.http.auth import Principal
from shared.printing.capabilities import Capabilities
from shared.readmodels import devices, groups, sharing
from shared.readmodels.devices import PrinterTable, VirtualPrinterTable, guard_tenant
from shared.sharing import Viewer

PRINTERS = PrinterTable(key="id", fields=("name", "model", "region"))
"""The queues' printers read model (``printers``, keyed by ``id``)."""
VIRTUAL_PRINTERS = VirtualPrinterTable(key="id")
"""The queues' virtual printers read model (``virtual_printers``, keyed by ``id``)."""


class Replicas:
    """Read models kept from other services' events."""

    conn: asyncpg.Connection
    schema: str

    async def describe_printer(self, data: PrinterRegistered | PrinterUpdated) -> bool:
        """A printer's name, model and region (newest revision wins; another tenant's
        refused)."""
        return await devices.apply_printer(self.conn, PRINTERS, data)

    async def save_capabilities(self, data: PrinterCapabilitiesChanged) -> bool:
        """A printer's latest capabilities (newest version wins; another tenant's refused)."""
        return await devices.apply_capabilities(self.conn, PRINTERS, data)

    async def describe_virtual_printer(
        self, data: VirtualPrinterCreated | VirtualPrinterUpdated
    ) -> bool:
        """A virtual printer's members (newest revision wins; another tenant's refused)."""
        return await devices.apply_virtual_printer(self.conn, VIRTUAL_PRINTERS, data)

    async def set_connector_devices(
        self, data: ConnectorDevicesChanged, printer_ids: Sequence[uuid.UUID]
    ) -> bool:
        """The connector now holds exactly ``printer_ids`` (newest revision wins; another
        tenant's refused)."""
        return await devices.apply_connector_devices(self.conn, data, printer_ids)

    async def get_printer(self, printer_id: uuid.UUID) -> Printer | None:
        """A printer of the read model."""
        row = await self.conn.fetchrow(
            "SELECT id, tenant_id, revision, capabilities FROM printers WHERE id = $1", printer_id
        )
        if row is None:
            return None
        caps = row["capabilities"]
        return Printer(
            row["id"],
            row["tenant_id"],
            row["revision"],
            Capabilities.model_validate(caps) if caps is not None else None,
        )

    async def printers_capabilities(
        self, printer_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Capabilities | None]:
        """The latest capabilities of each printer known (None: not reported yet)."""
        rows = await self.conn.fetch(
            "SELECT id, capabilities FROM printers WHERE id = ANY($1::uuid[])", list(printer_ids)
        )
        return {
            r["id"]: Capabilities.model_validate(r["capabilities"]) if r["capabilities"] else None
            for r in rows
        }

    async def set_connection(
        self, printer_id: uuid.UUID, tenant_id: uuid.UUID, state: str, at: datetime
    ) -> None:
        """A printer's connection state, unless a later one is stored (:class:`TenantMismatch`
        when the printer is another tenant's)."""
        await guard_tenant(self.conn, PRINTERS, printer_id, tenant_id)
        await self.conn.execute(
            """
            INSERT INTO printers (id, tenant_id, connection_state, connection_at)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (id) DO UPDATE SET connection_state = $3, connection_at = $4
            WHERE (printers.connection_at IS NULL OR printers.connection_at <= $4)
              AND printers.tenant_id = $2
            """,
            printer_id,
            tenant_id,
            state,
            at,
        )

    async def get_virtual_printer(self, virtual_printer_id: uuid.UUID) -> VirtualPrinter | None:
        """A virtual printer of the read model."""
        row = await self.conn.fetchrow(
            "SELECT id, tenant_id, name, members FROM virtual_printers WHERE id = $1",
            virtual_printer_id,
        )
        if row is None:
            return None
        return VirtualPrinter(row["id"], row["tenant_id"], row["name"], tuple(row["members"]))

    async def virtual_printers_with(self, printer_ids: Sequence[uuid.UUID]) -> list[VirtualPrinter]:
        """The virtual printers that have any of ``printer_ids`` as a member (at most 100,
        by name)."""
        rows = await self.conn.fetch(
            "SELECT id, tenant_id, name, members FROM virtual_printers"
            " WHERE members && $1::uuid[] ORDER BY name, id LIMIT 100",
            list(printer_ids),
        )
        return [VirtualPrinter(r["id"], r["tenant_id"], r["name"], tuple(r["members"]))
                for r in rows]  # fmt: skip

    async def holder_of(self, printer_id: uuid.UUID) -> uuid.UUID:
        """The device holding the printer's websocket: its connector, or the printer itself."""
        holder = await self.conn.fetchval(
            "SELECT connector_id FROM printer_holders WHERE printer_id = $1", printer_id
        )
        return holder or printer_id

    async def printers_held_by(self, device_id: uuid.UUID, tenant_id: uuid.UUID) -> list[uuid.UUID]:
        """The printers a device answers for: itself, and those it bridges as a connector."""
        rows = await self.conn.fetch(
            "SELECT printer_id FROM printer_holders WHERE connector_id = $1 AND tenant_id = $2",
            device_id,
            tenant_id,
        )
        own = await self.conn.fetchval(
            "SELECT id FROM printers WHERE id = $1 AND tenant_id = $2", device_id, tenant_id
        )
        return ([own] if own else []) + [r["printer_id"] for r in rows]

    async def upsert_user(
        self,
        user_id: uuid.UUID,
        tenant_id: uuid.UUID | None,
        display_name: str,
        revision: int,
        deleted: bool,
        roles: Sequence[str] = (),
    ) -> None:
        """A user's display name and roles, unless an equal or newer revision is stored."""
        await self.conn.execute(
            """
            INSERT INTO users (id, tenant_id, display_name, revision, deleted, roles)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (id) DO UPDATE
                SET display_name = $3, revision = $4, deleted = $5, roles = $6
            WHERE users.revision < $4 OR ($5 AND NOT users.deleted)
            """,
            user_id,
            tenant_id,
            display_name,
            revision,
            deleted,
            list(roles),
        )

    async def apply_sharing(
        self, data: PrinterSharingChanged | VirtualPrinterSharingChanged
    ) -> bool:
        """With whom a printer or virtual printer is shared (newest revision wins)."""
        return await sharing.apply_sharing(self.conn, data)

    async def apply_group(self, data: GroupCreated | GroupUpdated | GroupDeleted) -> bool:
        """A group's members (newest revision wins)."""
        return await groups.apply_group(self.conn, data)

    async def viewer(self, who: Principal) -> Viewer | None:
        """The caller as sharing limits them (None: not limited)."""
        return await sharing.viewer_of(self.conn, who)

    async def viewer_of_user(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Viewer | None:
        """A user of the read model as sharing limits them (None: an administrator)."""
        roles = await self.conn.fetchval("SELECT roles FROM users WHERE id = $1", user_id)
        if roles is not None and "admin" in roles:
            return None
        return Viewer(user_id, await groups.groups_of(self.conn, tenant_id, user_id))

    async def may_use(self, subject_id: uuid.UUID, viewer: Viewer | None) -> bool:
        """Whether the viewer (None: not limited) may see and use the printer."""
        return await sharing.may_use(self.conn, subject_id, viewer)

    async def open_session(self, **values: Any) -> bool:
        """Record a session at a printer; False when it was already recorded."""
        return bool(
            await self.conn.fetchval(
                """
                INSERT INTO sessions (id, tenant_id, printer_id, user_id, display_name, opened_at,
                                      expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING true
                """,
                values["id"],
                values["tenant_id"],
                values["printer_id"],
                values["user_id"],
                values["display_name"],
                values["opened_at"],
                values["expires_at"],
            )
        )

    async def has_session(self, printer_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> bool:
        """Whether the user has an open session at the printer."""
        return bool(
            await self.conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM sessions WHERE printer_id = $1 AND user_id = $2 "
                "AND expires_at > $3)",
                printer_id,
                user_id,
                now,
            )
        )

    async def open_sessions(self, printer_ids: Sequence[uuid.UUID], now: datetime) -> list[Session]:
        """Open sessions at the printers, newest first."""
        rows = await self.conn.fetch(
            "SELECT id, tenant_id, printer_id, user_id, display_name, opened_at, expires_at"
            " FROM sessions WHERE printer_id = ANY($1::uuid[]) AND expires_at > $2"
            " ORDER BY opened_at DESC",
            list(printer_ids),
            now,
        )
        return [Session(**dict(r)) for r in rows]
