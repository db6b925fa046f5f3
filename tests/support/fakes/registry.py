"""The registry's repository in memory (see :mod:`services.registry.repository`)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.registry.domain.model import (
    BridgedPrinter,
    CapabilitiesVersion,
    CommandRoute,
    Connector,
    DeviceCommand,
    Printer,
    Tenant,
    VirtualPrinter,
)
from services.registry.domain.onboarding import Registration
from shared.db.uow import AlreadyExists


def _same_name(a: str, b: str) -> bool:
    return a.lower() == b.lower()


class FakeTenants:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Tenant] = {}

    async def insert(self, tenant_id: uuid.UUID, name: str) -> Tenant:
        if any(_same_name(t.name, name) for t in self.rows.values()):
            raise AlreadyExists("name")
        self.rows[tenant_id] = Tenant(tenant_id, name, datetime.now(UTC))
        return self.rows[tenant_id]

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        return self.rows.get(tenant_id)

    async def list(self, *, after: uuid.UUID | None, limit: int) -> list[Tenant]:
        ids = sorted(i for i in self.rows if after is None or i > after)
        return [self.rows[i] for i in ids[:limit]]


class FakePrinters:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Printer] = {}
        self.versions: dict[tuple[uuid.UUID, int], CapabilitiesVersion] = {}

    def _taken(self, p: Printer) -> bool:
        return any(
            o.id != p.id and o.tenant_id == p.tenant_id and _same_name(o.name, p.name)
            for o in self.rows.values()
        )

    async def insert(self, p: Printer) -> Printer:
        if self._taken(p):
            raise AlreadyExists("name")
        self.rows[p.id] = p
        return p

    async def get(self, printer_id: uuid.UUID, *, for_update: bool = False) -> Printer | None:
        return self.rows.get(printer_id)

    async def save(self, p: Printer) -> None:
        if self._taken(p):
            raise AlreadyExists("name")
        self.rows[p.id] = p

    async def list(
        self, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> list[Printer]:
        found = [
            p
            for i, p in sorted(self.rows.items())
            if tenant_id in (None, p.tenant_id) and (after is None or i > after)
        ]
        return found[:limit]

    async def save_presence(self, p: Printer) -> None:
        self.rows[p.id] = replace(
            self.rows[p.id],
            connection_state=p.connection_state,
            presence_session=p.presence_session,
            last_seen_at=p.last_seen_at,
        )

    async def foreign_or_missing(
        self, tenant_id: uuid.UUID, printer_ids: list[uuid.UUID]
    ) -> list[uuid.UUID]:
        return [i for i in printer_ids if i not in self.rows or self.rows[i].tenant_id != tenant_id]

    async def capabilities(
        self, printer_id: uuid.UUID, version: int | None = None
    ) -> CapabilitiesVersion | None:
        printer = self.rows.get(printer_id)
        if printer is None:
            return None
        return self.versions.get((printer_id, version or printer.capabilities_version))

    async def add_capabilities(self, c: CapabilitiesVersion) -> None:
        self.versions[(c.printer_id, c.version)] = c
        self.rows[c.printer_id] = replace(self.rows[c.printer_id], capabilities_version=c.version)

    async def members_capabilities(
        self, printer_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, object]]:
        found = {}
        for i in printer_ids:
            current = await self.capabilities(i)
            if current is not None:
                found[i] = current.document
        return found


class FakeVirtualPrinters:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, VirtualPrinter] = {}

    def _taken(self, vp: VirtualPrinter) -> bool:
        return any(
            o.id != vp.id and o.tenant_id == vp.tenant_id and _same_name(o.name, vp.name)
            for o in self.rows.values()
        )

    async def insert(self, vp: VirtualPrinter) -> None:
        if self._taken(vp):
            raise AlreadyExists("name")
        self.rows[vp.id] = vp

    async def save(self, vp: VirtualPrinter) -> None:
        if self._taken(vp):
            raise AlreadyExists("name")
        self.rows[vp.id] = vp

    async def get(self, vp_id: uuid.UUID, *, for_update: bool = False) -> VirtualPrinter | None:
        return self.rows.get(vp_id)

    async def list(
        self, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> list[VirtualPrinter]:
        found = [
            v
            for i, v in sorted(self.rows.items())
            if tenant_id in (None, v.tenant_id) and (after is None or i > after)
        ]
        return found[:limit]


class FakeRegistrations:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Registration] = {}

    def _taken(self, r: Registration) -> bool:
        return any(
            o.id != r.id
            and (
                o.key.fingerprint == r.key.fingerprint
                or (o.status == r.status == "pending" and o.claim_code == r.claim_code)
            )
            for o in self.rows.values()
        )

    async def insert(self, r: Registration) -> None:
        if self._taken(r):
            raise AlreadyExists("registration")
        self.rows[r.id] = r

    async def save(self, r: Registration) -> None:
        if self._taken(r):
            raise AlreadyExists("claim_code")
        self.rows[r.id] = r

    async def get(
        self, registration_id: uuid.UUID, *, for_update: bool = False
    ) -> Registration | None:
        return self.rows.get(registration_id)

    async def by_fingerprint(
        self, fingerprint: str, *, for_update: bool = False
    ) -> Registration | None:
        return next((r for r in self.rows.values() if r.key.fingerprint == fingerprint), None)

    async def pending_by_code(self, code: str) -> Registration | None:
        return next(
            (r for r in self.rows.values() if r.claim_code == code and r.status == "pending"),
            None,
        )


class FakeOnboardingAttempts:
    def __init__(self) -> None:
        self.rows: dict[int, tuple[str, datetime]] = {}
        self.next_id = 1

    async def reserve(self, bucket: str, limit: int, window: timedelta) -> int | None:
        if await self.count(bucket, window) >= limit:
            return None
        attempt, self.next_id = self.next_id, self.next_id + 1
        self.rows[attempt] = (bucket, datetime.now(UTC))
        return attempt

    async def release(self, attempt: int) -> None:
        self.rows.pop(attempt, None)

    async def count(self, bucket: str, window: timedelta) -> int:
        """Attempts in ``bucket`` within ``window`` (for assertions)."""
        since = datetime.now(UTC) - window
        return sum(1 for b, at in self.rows.values() if b == bucket and at >= since)


class FakeConnectors:
    def __init__(self, printers: FakePrinters) -> None:
        self.printers = printers
        self.rows: dict[uuid.UUID, Connector] = {}
        # printer -> connector, uri, file endpoint
        self.bridged: dict[uuid.UUID, tuple[uuid.UUID, str, str | None]] = {}

    async def insert(
        self,
        connector_id: uuid.UUID,
        tenant_id: uuid.UUID,
        name: str,
        model: str,
        region: str,
        location: str | None,
    ) -> Connector:
        if any(c.tenant_id == tenant_id and _same_name(c.name, name) for c in self.rows.values()):
            raise AlreadyExists("name")
        now = datetime.now(UTC)
        self.rows[connector_id] = Connector(
            connector_id, tenant_id, name, model, region, location, 1, now, now
        )
        return self.rows[connector_id]

    async def get(self, connector_id: uuid.UUID, *, for_update: bool = False) -> Connector | None:
        return self.rows.get(connector_id)

    async def devices(self, connector_id: uuid.UUID) -> list[BridgedPrinter]:
        found = [
            BridgedPrinter(p, uri, self.printers.rows[p].name, self.printers.rows[p].model, files)
            for p, (c, uri, files) in self.bridged.items()
            if c == connector_id
        ]
        return sorted(found, key=lambda d: d.name)

    async def replace_devices(
        self,
        connector_id: uuid.UUID,
        devices: list[tuple[uuid.UUID, str, str | None]],
        now: datetime,
    ) -> None:
        if any(
            self.bridged.get(p, (connector_id, "", None))[0] != connector_id for p, *_ in devices
        ):
            raise AlreadyExists("printer_id")
        self.bridged = {p: v for p, v in self.bridged.items() if v[0] != connector_id}
        self.bridged.update({p: (connector_id, uri, files) for p, uri, files in devices})
        c = self.rows[connector_id]
        self.rows[connector_id] = replace(c, revision=c.revision + 1, updated_at=now)


class FakeDeviceCommands:
    def __init__(self, printers: FakePrinters, connectors: FakeConnectors) -> None:
        self.printers = printers
        self.connectors = connectors
        self.rows: dict[uuid.UUID, DeviceCommand] = {}
        self.states: dict[uuid.UUID, str] = {}

    async def route(self, device_id: uuid.UUID) -> CommandRoute | None:
        printer = self.printers.rows.get(device_id)
        if printer is not None:
            bridged = self.connectors.bridged.get(device_id)
            if bridged is None:
                return CommandRoute(printer.tenant_id, printer.id, None)
            return CommandRoute(printer.tenant_id, bridged[0], printer.id)
        connector = self.connectors.rows.get(device_id)
        return None if connector is None else CommandRoute(connector.tenant_id, device_id, None)

    async def insert(self, c: DeviceCommand) -> None:
        self.rows[c.command_id] = c
        self.states[c.command_id] = "pending"

    async def pending(self, device_id: uuid.UUID) -> list[DeviceCommand]:
        mine = [
            c
            for c in self.rows.values()
            if c.device_id == device_id and self.states[c.command_id] == "pending"
        ]
        return sorted(mine, key=lambda c: c.issued_at)

    async def ack(
        self, command_id: uuid.UUID, device_id: uuid.UUID, outcome: str, detail: str, at: datetime
    ) -> str | None:
        c = self.rows.get(command_id)
        if c is None or c.device_id != device_id:
            return None
        before, self.states[command_id] = self.states[command_id], outcome
        return before


class FakeRegistryRepository:
    """Every table of the registry's schema, in memory."""

    def __init__(self) -> None:
        self.tenants = FakeTenants()
        self.printers = FakePrinters()
        self.virtual_printers = FakeVirtualPrinters()
        self.registrations = FakeRegistrations()
        self.attempts = FakeOnboardingAttempts()
        self.connectors = FakeConnectors(self.printers)
        self.commands = FakeDeviceCommands(self.printers, self.connectors)
