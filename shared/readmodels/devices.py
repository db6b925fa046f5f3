"""The device read model: printers, virtual printers and connectors as the registry
announces them, kept by each consuming service in its OWN schema (the SQL here names
unqualified tables, which resolve through the service's search_path).

Two rules, the same for every service:

* **The newest revision wins.** A ``printer.registered``/``printer.updated`` (or a
  virtual printer's, or a connector's) revision is applied only when it is newer than
  the stored one; an equal or older revision (a redelivery, a late replay) changes
  nothing. Capabilities follow the same rule by their ``version``.
* **A revision never moves a device to another tenant.** An event whose tenant differs
  from the tenant of the stored row is refused with :class:`TenantMismatch` (a
  :class:`~shared.errors.PermanentEventError`): the consumer parks it on the dead-letter
  topic and the row stays as it was, whatever the event's revision. Handlers of other
  per-device events (a connection change) call :func:`guard_tenant` first.

Each service describes its own table with :class:`PrinterTable` /
:class:`VirtualPrinterTable` (its key column, which descriptive fields it keeps);
the tables need ``tenant_id`` and ``revision`` (and ``capabilities`` /
``capabilities_version`` for :func:`apply_capabilities`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import asyncpg

from shared.errors import PermanentEventError
from shared.events.contracts.devices import ConnectorDevicesChanged
from shared.events.contracts.registry import (
    PrinterCapabilitiesChanged,
    PrinterRegistered,
    PrinterUpdated,
    VirtualPrinterCreated,
    VirtualPrinterUpdated,
)

__all__ = [
    "PRINTER_FIELDS",
    "PrinterTable",
    "TenantMismatch",
    "VirtualPrinterTable",
    "apply_capabilities",
    "apply_connector_devices",
    "apply_printer",
    "apply_virtual_printer",
    "guard_tenant",
]

PRINTER_FIELDS = ("name", "model", "region", "location")
"""The descriptive fields of ``printer.registered``/``printer.updated`` a table may keep."""


class TenantMismatch(PermanentEventError):
    """An event names a device of one tenant that is stored under another: never applied."""

    def __init__(self, kind: str, device_id: uuid.UUID) -> None:
        super().__init__(f"{kind} {device_id} belongs to another tenant")
        self.kind = kind
        self.device_id = device_id


@dataclass(frozen=True)
class PrinterTable:
    """A service's printers table (in its own schema)."""

    key: str = "printer_id"
    """The column holding the printer's id."""
    fields: tuple[str, ...] = ("name",)
    """Which of :data:`PRINTER_FIELDS` the service keeps (columns of the same names)."""
    name: str = "printers"
    first_seen: str | None = None
    """A column set to the event's time when the row is first created by a description."""
    touched: str | None = None
    """A column set to now() whenever a description is applied."""

    def __post_init__(self) -> None:
        unknown = set(self.fields) - set(PRINTER_FIELDS)
        if unknown:
            raise ValueError(f"not printer fields: {sorted(unknown)}")


@dataclass(frozen=True)
class VirtualPrinterTable:
    """A service's virtual printers table: ``tenant_id, name, revision, members``."""

    key: str = "virtual_printer_id"
    name: str = "virtual_printers"


class _Stored(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def key(self) -> str: ...


async def guard_tenant(
    conn: asyncpg.Connection,
    table: _Stored,
    device_id: uuid.UUID,
    tenant_id: uuid.UUID,
    *,
    kind: str = "printer",
) -> None:
    """Lock the device's row (when stored) and refuse an event of another tenant."""
    stored = await conn.fetchval(
        f"SELECT tenant_id FROM {table.name} WHERE {table.key} = $1 FOR UPDATE", device_id
    )
    if stored is not None and stored != tenant_id:
        raise TenantMismatch(kind, device_id)


async def apply_printer(
    conn: asyncpg.Connection,
    table: PrinterTable,
    data: PrinterRegistered | PrinterUpdated,
    *,
    occurred_at: datetime | None = None,
) -> bool:
    """Store a printer's description unless an equal or newer revision is stored;
    whether it was applied. :class:`TenantMismatch` when the printer is another tenant's.
    ``occurred_at`` fills ``table.first_seen`` for a printer first seen here."""
    columns = ["tenant_id", "revision", *table.fields]
    values: list[object] = [
        data.tenant_id,
        data.revision,
        *(getattr(data, f) for f in table.fields),
    ]
    if table.first_seen is not None:
        columns.append(table.first_seen)
        values.append(occurred_at)
    updates = [f"{c} = EXCLUDED.{c}" for c in ("revision", *table.fields)]
    if table.touched is not None:
        updates.append(f"{table.touched} = now()")
    placeholders = ", ".join(f"${i + 2}" for i in range(len(columns)))
    applied = await conn.fetchval(
        f"""
        INSERT INTO {table.name} ({table.key}, {", ".join(columns)}) VALUES ($1, {placeholders})
        ON CONFLICT ({table.key}) DO UPDATE SET {", ".join(updates)}
        WHERE {table.name}.revision < EXCLUDED.revision
          AND {table.name}.tenant_id = EXCLUDED.tenant_id
        RETURNING true
        """,
        data.printer_id,
        *values,
    )
    if applied:
        return True
    # Nothing changed: the stored row (locked by the upsert) is as new or newer, or of
    # another tenant, which is refused.
    await guard_tenant(conn, table, data.printer_id, data.tenant_id)
    return False


async def apply_capabilities(
    conn: asyncpg.Connection, table: PrinterTable, data: PrinterCapabilitiesChanged
) -> bool:
    """Store a printer's capabilities unless an equal or newer version is stored;
    whether they were applied. :class:`TenantMismatch` for another tenant's printer."""
    applied = await conn.fetchval(
        f"""
        INSERT INTO {table.name} ({table.key}, tenant_id, capabilities, capabilities_version)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT ({table.key}) DO UPDATE
            SET capabilities = EXCLUDED.capabilities,
                capabilities_version = EXCLUDED.capabilities_version
        WHERE {table.name}.capabilities_version < EXCLUDED.capabilities_version
          AND {table.name}.tenant_id = EXCLUDED.tenant_id
        RETURNING true
        """,
        data.printer_id,
        data.tenant_id,
        data.capabilities.model_dump(mode="json"),
        data.version,
    )
    if applied:
        return True
    # Nothing changed: the stored row (locked by the upsert) is as new or newer, or of
    # another tenant, which is refused.
    await guard_tenant(conn, table, data.printer_id, data.tenant_id)
    return False


async def apply_virtual_printer(
    conn: asyncpg.Connection,
    table: VirtualPrinterTable,
    data: VirtualPrinterCreated | VirtualPrinterUpdated,
) -> bool:
    """Store a virtual printer's name and members unless an equal or newer revision is
    stored; whether it was applied. :class:`TenantMismatch` for another tenant's."""
    applied = await conn.fetchval(
        f"""
        INSERT INTO {table.name} ({table.key}, tenant_id, name, revision, members)
        VALUES ($1, $2, $3, $4, $5)
        ON CONFLICT ({table.key}) DO UPDATE
            SET name = EXCLUDED.name, revision = EXCLUDED.revision, members = EXCLUDED.members
        WHERE {table.name}.revision < EXCLUDED.revision
          AND {table.name}.tenant_id = EXCLUDED.tenant_id
        RETURNING true
        """,
        data.virtual_printer_id,
        data.tenant_id,
        data.name,
        data.revision,
        list(data.members),
    )
    if applied:
        return True
    await guard_tenant(conn, table, data.virtual_printer_id, data.tenant_id, kind="virtual printer")
    return False


@dataclass(frozen=True)
class _Connectors:
    name: str = "connectors"
    key: str = "id"


CONNECTORS = _Connectors()


async def apply_connector_devices(
    conn: asyncpg.Connection, data: ConnectorDevicesChanged, printer_ids: Sequence[uuid.UUID]
) -> bool:
    """Make the connector the holder of exactly ``printer_ids`` unless an equal or newer
    revision is stored; whether it was applied. :class:`TenantMismatch` when the
    connector is another tenant's.

    Tables: ``connectors (id, tenant_id, revision)`` and
    ``printer_holders (printer_id PRIMARY KEY, connector_id, tenant_id)``."""
    applied = await conn.fetchval(
        """
        INSERT INTO connectors (id, tenant_id, revision) VALUES ($1, $2, $3)
        ON CONFLICT (id) DO UPDATE SET revision = EXCLUDED.revision
        WHERE connectors.revision < EXCLUDED.revision
          AND connectors.tenant_id = EXCLUDED.tenant_id
        RETURNING true
        """,
        data.connector_id,
        data.tenant_id,
        data.revision,
    )
    if not applied:
        await guard_tenant(conn, CONNECTORS, data.connector_id, data.tenant_id, kind="connector")
        return False
    await conn.execute(
        "DELETE FROM printer_holders WHERE connector_id = $1 AND NOT printer_id = ANY($2::uuid[])",
        data.connector_id,
        list(printer_ids),
    )
    await conn.execute(
        """
        INSERT INTO printer_holders (printer_id, connector_id, tenant_id)
        SELECT p, $1, $2 FROM unnest($3::uuid[]) AS p
        ON CONFLICT (printer_id) DO UPDATE SET connector_id = $1, tenant_id = $2
        """,
        data.connector_id,
        data.tenant_id,
        list(printer_ids),
    )
    return True
