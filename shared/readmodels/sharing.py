"""The sharing read model: with whom each printer and virtual printer is shared, from
``printer.sharing_changed`` / ``virtual_printer.sharing_changed``, kept in the table::

    sharing (subject_id uuid PRIMARY KEY, tenant_id uuid NOT NULL,
             kind text NOT NULL,  -- 'printer' or 'virtual_printer'
             revision integer NOT NULL, shared_with jsonb NOT NULL)

The registry keeps the same table as the source of truth. A printer without a row is
shared with its whole tenant (printers start so, and existing ones stay so until an
administrator narrows them). The newest revision wins; another tenant's event is
refused (:class:`~shared.readmodels.devices.TenantMismatch`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from shared.events.contracts.registry import PrinterSharingChanged, VirtualPrinterSharingChanged
from shared.http.auth import Principal
from shared.readmodels.devices import guard_tenant
from shared.readmodels.groups import groups_of
from shared.sharing import TENANT_WIDE, SharedWith, Viewer, bypasses_sharing

__all__ = [
    "apply_sharing",
    "may_use",
    "shared_clause",
    "shared_with_of",
    "viewer_of",
    "viewer_params",
]


@dataclass(frozen=True)
class _Table:
    name: str = "sharing"
    key: str = "subject_id"


TABLE = _Table()


def subject_of(data: PrinterSharingChanged | VirtualPrinterSharingChanged) -> tuple[str, uuid.UUID]:
    """The kind and id of what an event shares."""
    if isinstance(data, PrinterSharingChanged):
        return "printer", data.printer_id
    return "virtual_printer", data.virtual_printer_id


async def apply_sharing(
    conn: asyncpg.Connection, data: PrinterSharingChanged | VirtualPrinterSharingChanged
) -> bool:
    """Store a sharing unless an equal or newer revision is stored; whether it was."""
    kind, subject_id = subject_of(data)
    applied = await conn.fetchval(
        """
        INSERT INTO sharing (subject_id, tenant_id, kind, revision, shared_with)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT (subject_id) DO UPDATE
            SET revision = EXCLUDED.revision, shared_with = EXCLUDED.shared_with
        WHERE sharing.revision < EXCLUDED.revision AND sharing.tenant_id = EXCLUDED.tenant_id
        RETURNING true
        """,
        subject_id, data.tenant_id, kind, data.revision,
        data.shared_with.model_dump(mode="json"),
    )  # fmt: skip
    if applied:
        return True
    await guard_tenant(conn, TABLE, subject_id, data.tenant_id, kind=kind.replace("_", " "))
    return False


async def shared_with_of(conn: asyncpg.Connection, subject_id: uuid.UUID) -> SharedWith:
    """With whom a printer or virtual printer is shared (the whole tenant when unknown)."""
    value = await conn.fetchval("SELECT shared_with FROM sharing WHERE subject_id = $1", subject_id)
    return TENANT_WIDE if value is None else SharedWith.model_validate(value)


async def viewer_of(conn: asyncpg.Connection, who: Principal) -> Viewer | None:
    """The caller as sharing sees them; None for callers sharing does not limit
    (operators, administrators, devices, services)."""
    if bypasses_sharing(who) or who.tenant_id is None:
        return None
    user_id = uuid.UUID(who.subject)
    return Viewer(user_id, await groups_of(conn, who.tenant_id, user_id))


async def may_use(conn: asyncpg.Connection, subject_id: uuid.UUID, viewer: Viewer | None) -> bool:
    """Whether the viewer (None: not limited) may see and use the printer."""
    return viewer is None or viewer.may_use(await shared_with_of(conn, subject_id))


def shared_clause(id_column: str, first_param: int) -> str:
    """A SQL condition: the row whose id is in ``id_column`` is shared with the viewer
    whose user id (text) is parameter ``$first_param`` and whose groups (text[]) are
    the next one. Rows without sharing are shared with the whole tenant."""
    user, groups = f"${first_param}", f"${first_param + 1}"
    return f"""NOT EXISTS (
        SELECT 1 FROM sharing s WHERE s.subject_id = {id_column}
          AND NOT ((s.shared_with->>'tenant')::boolean
                   OR s.shared_with->'user_ids' ? {user}::text
                   OR s.shared_with->'group_ids' ?| {groups}::text[]))"""


def viewer_params(viewer: Viewer) -> list[object]:
    """The two parameters :func:`shared_clause` needs."""
    return [str(viewer.user_id), [str(g) for g in viewer.groups]]
