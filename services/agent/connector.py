"""The printers an agent speaks for: one (a printer) or many (a connector's devices).

The fleet probes its printers concurrently (a short IPP Get-Printer-Attributes
each), turns the answers into ``capabilities`` and ``status`` frames (an
unreachable printer is reported ``stopped`` with reason ``offline-report``) and
remembers what it last reported, so the periodic re-check only sends changes.
After every probe of a connector's printer that answers, ``on_reachable`` is told
(and whether the printer is back), so what waits for it (held commands, jobs) goes
out.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from services.agent.executor import Rejected, Target
from services.agent.printers import DeviceUnreachable, Printer, Probe
from services.agent.printers.files import FileTransport, file_transport
from services.agent.printers.ipp import IppPrinter
from services.agent.state import BridgedDevice, Identity
from shared.logging import get_logger
from shared.protocols.device import CapabilitiesReport, Command, StatusReport

log = get_logger(__name__)
OFFLINE = "offline-report"
Report = CapabilitiesReport | StatusReport


@dataclass
class Slot:
    """One printer, the id it is reported under (None: the agent itself), its last report."""

    printer: Printer
    device_id: uuid.UUID | None
    last: tuple[str, str, tuple[str, ...]] | None = None
    files: FileTransport | None = None
    files_uri: str | None = None

    @property
    def reachable(self) -> bool | None:
        """Whether the last probe reached the printer (None: not probed yet)."""
        return None if self.last is None else self.last[2] != (OFFLINE,)


class Fleet:
    """The printers behind this agent's websocket."""

    def __init__(self) -> None:
        self.slots: dict[uuid.UUID | None, Slot] = {}
        self.wake = asyncio.Event()
        self.on_reachable: Callable[[uuid.UUID, bool], None] | None = None
        """Told after each probe of a connector's printer that answered, and whether it
        is back (it did not answer, or was not probed, before)."""

    @classmethod
    def single(cls, printer: Printer) -> Fleet:
        """A printer agent: one printer, reported as the device itself."""
        fleet = cls()
        fleet.slots[None] = Slot(printer, None)
        return fleet

    async def replace(self, devices: list[BridgedDevice], make: Callable[[str], Printer]) -> None:
        """A connector's new device list: keep unchanged printers, drop removed ones."""
        old = self.slots
        self.slots = {}
        for device in devices:
            kept = old.pop(device.printer_id, None)
            same = kept is not None and kept.printer.address == device.uri
            if kept is not None and same and kept.files_uri == device.files_uri:
                self.slots[device.printer_id] = kept
            else:
                if kept is not None:
                    await _close(kept)
                self.slots[device.printer_id] = Slot(
                    make(device.uri), device.printer_id, files=_files(device),
                    files_uri=device.files_uri,
                )  # fmt: skip
        for slot in old.values():
            await _close(slot)
        self.wake.set()

    async def reports(self, *, full: bool) -> list[Report]:
        """Probe every printer; frames for all of them (``full``) or for what changed."""
        slots = list(self.slots.values())
        probes = await asyncio.gather(*(_probe(s.printer) for s in slots))
        frames: list[Report] = []
        for slot, probe in zip(slots, probes, strict=True):
            was = slot.reachable
            frames.extend(_frames(slot, probe, full=full))
            if slot.reachable and slot.device_id is not None and self.on_reachable is not None:
                self.on_reachable(slot.device_id, not was)
        return frames

    async def close(self) -> None:
        """Close every printer's connections."""
        for slot in self.slots.values():
            await _close(slot)


async def _close(slot: Slot) -> None:
    await slot.printer.close()
    if slot.files is not None:
        await slot.files.close()


def _files(device: BridgedDevice) -> FileTransport | None:
    try:
        return file_transport(device.files_uri)
    except ValueError as exc:
        log.warning("files cannot be delivered to this printer", error=str(exc))
        return None


async def _probe(printer: Printer) -> Probe | None:
    try:
        return await printer.probe()
    except DeviceUnreachable:
        return None
    except Exception:  # a printer answering nonsense is as good as unreachable
        log.exception("probe failed", printer=printer.address)
        return None


def _frames(slot: Slot, probe: Probe | None, *, full: bool) -> list[Report]:
    summary: tuple[str, str, tuple[str, ...]]
    if probe is None:
        summary = ("", "stopped", (OFFLINE,))
    else:
        summary = (probe.capabilities.fingerprint(), probe.state, tuple(probe.reasons))
    if summary == slot.last and not full:
        return []
    if probe is None and slot.last != summary:
        log.warning("printer unreachable", printer=slot.printer.address)
    slot.last = summary
    if probe is None:
        message = f"device unreachable: {slot.printer.address}"
        return [
            StatusReport(
                state="stopped", reasons=[OFFLINE], message=message, device_id=slot.device_id
            )
        ]
    return [
        CapabilitiesReport(capabilities=probe.capabilities, device_id=slot.device_id),
        StatusReport(
            state=probe.state, reasons=probe.reasons, message=probe.message,
            device_id=slot.device_id,
        ),
    ]  # fmt: skip


def printer_resolver(
    fleet: Fleet, identity: Callable[[], Identity | None]
) -> Callable[[Command], Target | None]:
    """Commands for a printer agent: for the device itself (no target, or its own id)."""

    def resolve(cmd: Command) -> Target:
        me = identity()
        if me is None:
            raise Rejected("the agent does not know its identity yet")
        if cmd.target_device_id not in (None, me.device_id):
            raise Rejected(f"not this printer: {cmd.target_device_id}")
        return Target(fleet.slots[None].printer, printer_id=me.device_id)

    return resolve


def connector_resolver(fleet: Fleet) -> Callable[[Command], Target | None]:
    """Commands for a connector: no target (the connector), or one of its devices."""

    def resolve(cmd: Command) -> Target | None:
        if cmd.target_device_id is None:
            return None
        slot = fleet.slots.get(cmd.target_device_id)
        if slot is None:
            raise Rejected(f"not a device of this connector: {cmd.target_device_id}")
        return Target(
            slot.printer, cmd.target_device_id, cmd.target_device_id, slot.files, slot.reachable
        )

    return resolve


def job_targets(
    fleet: Fleet, identity: Callable[[], Identity | None], *, connector: bool
) -> Callable[[], dict[uuid.UUID, Target]]:
    """The printers the job loop prints on, by the printer id jobs name."""

    def targets() -> dict[uuid.UUID, Target]:
        if connector:
            # A printer not probed yet counts as unreachable: its jobs wait for the probe.
            return {
                pid: Target(slot.printer, pid, pid, slot.files, slot.reachable is True)
                for pid, slot in fleet.slots.items()
                if pid is not None
            }
        me = identity()
        if me is None or None not in fleet.slots:
            return {}
        return {me.device_id: Target(fleet.slots[None].printer, me.device_id)}

    return targets


def ipp_printer_factory(timeout: float, probe_timeout: float) -> Callable[[str], Printer]:
    """Makes the IPP printer for a bridged device's URI."""

    def make(uri: str) -> Printer:
        return IppPrinter(uri, timeout=timeout, probe_timeout=probe_timeout)

    return make
