"""Routing's read models, kept from other services' events: printers (with the shared
device read model), virtual printers and quotas."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import asyncpg

from services.routing.domain.model import Job, Printer, Quota
from shared.events.contracts.quotas import QuotaStateChanged
from shared.events.contracts.registry import (
    PrinterCapabilitiesChanged,
    PrinterRegistered,
    PrinterUpdated,
    VirtualPrinterCreated,
    VirtualPrinterUpdated,
)
from shared.printing.capabilities import Capabilities
from shared.readmodels import devices
from shared.readmodels.devices import PrinterTable, VirtualPrinterTable

PRINTERS = PrinterTable(key="printer_id", fields=("name",), first_seen="state_since")
"""Routing's printers read model: a printer first described counts as offline since then."""
VIRTUAL_PRINTERS = VirtualPrinterTable(key="virtual_printer_id")
"""Routing's virtual printers read model."""


class Replicas:
    """Printers, virtual printers and quotas as routing knows them."""

    conn: asyncpg.Connection

    # --- printers -------------------------------------------------------------------

    async def describe_printer(
        self, data: PrinterRegistered | PrinterUpdated, occurred_at: datetime
    ) -> bool:
        """A printer's tenant and name (newest revision wins; another tenant's refused).
        A printer first seen here counts as offline since ``occurred_at``."""
        return await devices.apply_printer(self.conn, PRINTERS, data, occurred_at=occurred_at)

    async def save_capabilities(self, data: PrinterCapabilitiesChanged) -> bool:
        """A printer's latest capabilities (newest version wins; another tenant's refused)."""
        return await devices.apply_capabilities(self.conn, PRINTERS, data)

    async def save_connection(
        self, printer_id: uuid.UUID, tenant_id: uuid.UUID, state: str, at: datetime
    ) -> bool:
        """Record online/offline since ``at`` unless a later change is known; whether it
        was recorded. (Before its first report a printer counts as offline since routing
        heard of it; the first report replaces that guess whatever its time.)
        :class:`~shared.readmodels.devices.TenantMismatch` for another tenant's printer."""
        await devices.guard_tenant(self.conn, PRINTERS, printer_id, tenant_id)
        row = await self.conn.fetchrow(
            """
            INSERT INTO printers (printer_id, tenant_id, connection_state, state_since,
                                  state_known)
            VALUES ($1, $2, $3, $4, true)
            ON CONFLICT (printer_id) DO UPDATE SET
                connection_state = EXCLUDED.connection_state,
                state_known = true,
                state_since = CASE
                    WHEN printers.state_known
                         AND printers.connection_state = EXCLUDED.connection_state
                    THEN printers.state_since ELSE EXCLUDED.state_since END
            WHERE NOT printers.state_known OR printers.state_since <= EXCLUDED.state_since
            RETURNING connection_state
            """,
            printer_id, tenant_id, state, at,
        )  # fmt: skip
        return row is not None

    async def get_printers(self, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, Printer]:
        """The known printers among ``ids``."""
        wanted = [i for i in ids if i is not None]
        rows = await self.conn.fetch(
            "SELECT printer_id, tenant_id, name, connection_state, state_since, capabilities "
            "FROM printers WHERE printer_id = ANY($1::uuid[])",
            wanted,
        )
        return {
            r["printer_id"]: Printer(
                printer_id=r["printer_id"],
                tenant_id=r["tenant_id"],
                name=r["name"],
                online=r["connection_state"] == "online",
                since=r["state_since"],
                capabilities=Capabilities(**r["capabilities"]) if r["capabilities"] else None,
            )
            for r in rows
        }

    # --- virtual printers -----------------------------------------------------------

    async def describe_virtual_printer(
        self, data: VirtualPrinterCreated | VirtualPrinterUpdated
    ) -> bool:
        """A virtual printer's name and members (newest revision wins; another tenant's
        refused)."""
        return await devices.apply_virtual_printer(self.conn, VIRTUAL_PRINTERS, data)

    async def virtual_printer_name(self, vp_id: uuid.UUID) -> str | None:
        """A virtual printer's name, when known."""
        name: str | None = await self.conn.fetchval(
            "SELECT name FROM virtual_printers WHERE virtual_printer_id = $1", vp_id
        )
        return name

    # --- quotas ---------------------------------------------------------------------

    async def save_quota(self, q: QuotaStateChanged) -> None:
        """Keep the latest state of a quota."""
        await self.conn.execute(
            """
            INSERT INTO quotas (quota_id, tenant_id, subject_kind, subject_id, members, metric,
                                period, period_start, used, quota_limit, policy, exceeded,
                                override_until)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            ON CONFLICT (quota_id) DO UPDATE SET
                subject_kind = EXCLUDED.subject_kind, subject_id = EXCLUDED.subject_id,
                members = EXCLUDED.members, metric = EXCLUDED.metric, period = EXCLUDED.period,
                period_start = EXCLUDED.period_start, used = EXCLUDED.used,
                quota_limit = EXCLUDED.quota_limit, policy = EXCLUDED.policy,
                exceeded = EXCLUDED.exceeded, override_until = EXCLUDED.override_until
            """,
            q.quota_id, q.tenant_id, q.subject_kind, q.subject_id, q.members,
            q.metric, q.period, q.period_start, q.used, q.limit, q.policy,
            q.exceeded, q.override_until,
        )  # fmt: skip

    async def delete_quota(self, quota_id: uuid.UUID) -> None:
        """Forget a quota that no longer applies."""
        await self.conn.execute("DELETE FROM quotas WHERE quota_id = $1", quota_id)

    async def quota_tenant(self, quota_id: uuid.UUID) -> uuid.UUID | None:
        """The tenant of a known quota."""
        value: uuid.UUID | None = await self.conn.fetchval(
            "SELECT tenant_id FROM quotas WHERE quota_id = $1", quota_id
        )
        return value

    async def quotas_for(self, job: Job) -> list[Quota]:
        """The quotas of the job's owner, their groups and their tenant, each with the
        pages of the subject's other jobs queued or printing (not yet counted as used)."""
        rows = await self.conn.fetch(
            """
            SELECT q.*, COALESCE((
                SELECT sum(j.printed_pages) FROM jobs j
                WHERE j.tenant_id = q.tenant_id AND j.state IN ('queued', 'sent')
                  AND j.job_id <> $3 AND (q.metric = 'pages' OR j.colour)
                  AND (q.subject_kind = 'tenant'
                       OR q.subject_kind = 'user' AND j.owner_id = q.subject_id
                       OR q.subject_kind = 'group' AND j.owner_id = ANY(q.members))
            ), 0) AS pending
            FROM quotas q
            WHERE q.tenant_id = $1
              AND (q.subject_kind = 'tenant' AND q.subject_id = $1
                   OR q.subject_kind = 'user' AND q.subject_id = $2
                   OR q.subject_kind = 'group' AND $2 = ANY(q.members))
            """,
            job.tenant_id,
            job.owner_id,
            job.job_id,
        )
        return [
            Quota(
                quota_id=r["quota_id"],
                subject_kind=r["subject_kind"],
                subject_id=r["subject_id"],
                metric=r["metric"],
                period=r["period"],
                used=r["used"],
                limit=r["quota_limit"],
                policy=r["policy"],
                exceeded=r["exceeded"],
                override_until=r["override_until"],
                members=tuple(r["members"]),
                pending=int(r["pending"]),
            )
            for r in rows
        ]
