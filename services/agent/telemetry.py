"""The agent's counter and supply readings.

A counter reading is trusted only if no job started or finished while it was
taken. Each printer exposes a **job-activity sequence**; the agent reads it,
then the counters, then the sequence again, and reads again (up to
``retries`` times, ``retry_delay_s`` apart) until both sequences are equal. Only
such a consistent reading is reported (``counters`` frame, carrying both
sequences so the cloud can check); when none is found the round is skipped.
Readings go through the journal's frame outbox, so one taken while the
websocket is down is sent after the reconnect.

Where the values come from:

- **Simulator** (and any printer without counters of its own): the agent keeps
  them, in ``counters.json`` of its state directory so they survive restarts.
  The wrapper around the printer adds one to the sequence when a job starts and
  one when it finishes, and counts the job's impressions (pages x copies; the
  pages of a PDF or PWG raster document are counted as the queues count them,
  reading the file in chunks, never whole; other formats count one page), colour
  or mono by the job's colour mode, and sheets (two-sided halves them).
- **IPP printer**: Get-Printer-Attributes. Counters: ``printer-impressions-completed``,
  ``printer-impressions-completed-col``, ``printer-media-sheets-completed`` when the
  printer has them. The sequence: ``printer-state-change-time`` (changes when the
  printer goes from idle to processing and back, i.e. when a job starts and ends)
  combined with ``queued-job-count`` (changes when a job is queued or leaves); a
  printer in state ``processing`` is printing right now, so that read counts as
  inconsistent. Supplies: ``marker-types``, ``marker-colors``, ``marker-levels``,
  ``marker-names``.

Readings are taken every ``interval_s`` and shortly after each job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.agent.connector import Fleet
from services.agent.journal import Journal
from services.agent.printers import Printer, PrintRequest, Probe, SettingValue
from services.agent.printers.ipp import IppPrinter
from services.agent.state import write_atomic
from shared.events.contracts.gateway import CounterValue, SupplyLevel
from shared.logging import get_logger
from shared.printing.pages import PDF, PWG_RASTER, counter_for
from shared.protocols.device import CountersReport, SuppliesReport

log = get_logger(__name__)


class TelemetrySettings(BaseSettings):
    """``PRINTCLOUD_AGENT_TELEMETRY_*``."""

    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_AGENT_TELEMETRY_", extra="ignore")
    interval_s: float = Field(default=300, gt=0, description="Seconds between readings.")
    after_job_s: float = Field(
        default=2, ge=0, description="Delay between a job's end and the reading it triggers."
    )
    retries: int = Field(default=5, ge=1, le=100, description="Reads per consistent reading.")
    retry_delay_s: float = Field(default=0.5, ge=0, description="Pause between two reads.")


class CounterSource(Protocol):
    """A printer's job-activity sequence, counters and supplies."""

    async def activity(self) -> int | None:
        """The job-activity sequence; None while a job is known to be running."""
        ...

    async def counters(self) -> list[CounterValue]:
        """The counters now."""
        ...

    async def supplies(self) -> list[SupplyLevel]:
        """The supply levels now (empty when unknown)."""
        ...


@dataclass(frozen=True)
class Reading:
    """A consistent reading."""

    counters: list[CounterValue]
    activity: int
    attempts: int


async def read_consistent(
    source: CounterSource, retries: int, delay_s: float
) -> tuple[Reading | None, int]:
    """Read until the sequence is the same before and after; (reading, attempts made)."""
    for attempt in range(1, retries + 1):
        before = await source.activity()
        values = await source.counters()
        after = await source.activity()
        if before is not None and before == after and values:
            return Reading(values, before, attempt), attempt
        if attempt < retries:
            await asyncio.sleep(delay_s)
    return None, retries


# ------------------------------------------------------------------ agent-kept counters


def _pages(document: bytes, document_format: str) -> int:
    counter = counter_for(document_format)
    counter.feed(document)
    return counter.pages() or 1


class Tally:
    """Counters the agent keeps for a printer that has none of its own (the simulator)."""

    FIELDS = ("activity", "total", "colour", "mono", "sheets")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.values = dict.fromkeys(self.FIELDS, 0)
        with contextlib.suppress(FileNotFoundError, ValueError):
            stored = json.loads(path.read_text())
            self.values.update({k: int(stored[k]) for k in self.FIELDS if k in stored})

    def _save(self) -> None:
        write_atomic(self.path, json.dumps(self.values).encode(), 0o600)

    def started(self) -> None:
        self.values["activity"] += 1
        self._save()

    def finished(self, request: PrintRequest, pages: int | None) -> None:
        """A job ended; count it when it printed (its document's ``pages`` given)."""
        v = self.values
        v["activity"] += 1
        if pages is not None:
            settings = request.settings
            copies = settings.copies if settings else request.copies
            impressions = pages * copies
            v["total"] += impressions
            colour = settings is not None and settings.print_color_mode == "color"
            v["colour" if colour else "mono"] += impressions
            duplex = settings is not None and (settings.sides or "").startswith("two-sided")
            v["sheets"] += math.ceil(pages / 2) * copies if duplex else impressions
        self._save()


class TallySource:
    """A Tally read as a counter source."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    async def activity(self) -> int | None:
        return self.tally.values["activity"]

    async def counters(self) -> list[CounterValue]:
        v = self.tally.values
        return [
            CounterValue(name="total", value=v["total"]),
            CounterValue(name="colour", value=v["colour"]),
            CounterValue(name="mono", value=v["mono"]),
            CounterValue(name="sheets", unit="sheets", value=v["sheets"]),
        ]

    async def supplies(self) -> list[SupplyLevel]:
        level = max(0, 100 - self.tally.values["total"] // 50)
        return [SupplyLevel(kind="toner", colour="black", level_percent=level, name="Black")]


class CountingPrinter:
    """A printer whose jobs move the activity sequence (and, with a Tally, its counters)
    and trigger a reading once they end."""

    def __init__(self, inner: Printer, tally: Tally | None, after_job: Callable[[], None]) -> None:
        self.inner = inner
        self.tally = tally
        self._after_job = after_job

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def address(self) -> str:
        return self.inner.address

    async def probe(self) -> Probe:
        return await self.inner.probe()

    async def find_job(self, job_id: uuid.UUID) -> str | None:
        return await self.inner.find_job(job_id)

    async def identify(self) -> None:
        await self.inner.identify()

    async def set_attributes(self, attributes: dict[str, SettingValue]) -> None:
        await self.inner.set_attributes(attributes)

    async def cancel(self, job_id: uuid.UUID) -> bool:
        return await self.inner.cancel(job_id)

    async def close(self) -> None:
        await self.inner.close()

    async def submit(self, request: PrintRequest) -> str:
        if self.tally is not None:
            self.tally.started()
        pages: int | None = None
        try:
            reference = await self.inner.submit(request)
            if self.tally is not None:
                pages = await asyncio.to_thread(_document_pages, request)
            return reference
        finally:
            if self.tally is not None:
                self.tally.finished(request, pages)
            self._after_job()


_COUNT_CHUNK = 1024 * 1024


def _document_pages(request: PrintRequest) -> int:
    """The printed document's pages, its file read in chunks (one page when unknown)."""
    if isinstance(request.document, bytes):
        return _pages(request.document, request.document_format)
    if request.document_format not in (PDF, PWG_RASTER):
        return 1
    counter = counter_for(request.document_format)
    try:
        with request.document.open("rb") as fh:
            while chunk := fh.read(_COUNT_CHUNK):
                counter.feed(chunk)
    except OSError as exc:  # printed all the same: count it as one page
        log.warning("pages not counted", job_id=str(request.job_id), error=str(exc))
        return 1
    return counter.pages() or 1


# ------------------------------------------------------------------ IPP printers

IPP_COUNTERS = {
    "printer-impressions-completed": ("impressions", "impressions"),
    "printer-impressions-completed-col": ("impressions_colour", "impressions"),
    "printer-media-sheets-completed": ("sheets", "sheets"),
}
IPP_ACTIVITY = ["printer-state", "printer-state-change-time", "queued-job-count"]
IPP_SUPPLIES = ["marker-types", "marker-colors", "marker-levels", "marker-names"]
_PROCESSING = 4
_KINDS = {"toner": "toner", "ink": "ink", "ink-cartridge": "ink", "toner-cartridge": "toner",
          "opc": "drum", "waste-toner": "waste", "waste-ink": "waste", "fuser": "fuser",
          "staples": "staples"}  # fmt: skip
_COLOURS = {"#000000": "black", "#00FFFF": "cyan", "#FF00FF": "magenta", "#FFFF00": "yellow",
            "none": "none"}  # fmt: skip


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def supplies_from(attrs: dict[str, Any]) -> list[SupplyLevel]:
    """Supply levels from an IPP printer's marker-* attributes."""
    types, colours = _list(attrs.get("marker-types")), _list(attrs.get("marker-colors"))
    levels, names = _list(attrs.get("marker-levels")), _list(attrs.get("marker-names"))
    out = []
    for i, kind in enumerate(types[:64]):
        colour = str(colours[i]).upper() if i < len(colours) else "none"
        level = levels[i] if i < len(levels) else -1
        out.append(SupplyLevel(
            kind=_KINDS.get(str(kind), "other"),
            colour=_COLOURS.get(colour, "other" if colour.startswith("#") else "none"),
            level_percent=int(level) if isinstance(level, int) and 0 <= level <= 100 else None,
            name=str(names[i])[:255] if i < len(names) else "",
        ))  # fmt: skip
    return out


class IppSource:
    """An IPP printer's own counters, activity and supplies."""

    def __init__(self, printer: IppPrinter) -> None:
        self.printer = printer

    async def _attrs(self, names: list[str]) -> dict[str, Any]:
        response = await self.printer._get_attributes(names)
        printers = response.get("printers") or [{}]
        attrs: dict[str, Any] = printers[0]
        return attrs

    async def activity(self) -> int | None:
        attrs = await self._attrs(IPP_ACTIVITY)
        if attrs.get("printer-state") == _PROCESSING:
            return None
        changed = int(attrs.get("printer-state-change-time") or 0)
        queued = int(attrs.get("queued-job-count") or 0)
        return changed * 65_536 + queued % 65_536

    async def counters(self) -> list[CounterValue]:
        attrs = await self._attrs(list(IPP_COUNTERS))
        return [
            CounterValue(name=name, unit=unit, value=int(attrs[attr]))
            for attr, (name, unit) in IPP_COUNTERS.items()
            if isinstance(attrs.get(attr), int) and attrs[attr] >= 0
        ]

    async def supplies(self) -> list[SupplyLevel]:
        return supplies_from(await self._attrs(IPP_SUPPLIES))


# ------------------------------------------------------------------ the reporting loop


class Telemetry:
    """Reads every printer of the fleet periodically and after jobs; queues the frames."""

    def __init__(
        self, journal: Journal, wake_outbox: Callable[[], None], state: Path,
        settings: TelemetrySettings | None = None,
    ) -> None:  # fmt: skip
        self.journal = journal
        self.wake_outbox = wake_outbox
        self.state = state
        self.settings = settings or TelemetrySettings()
        self._poke = asyncio.Event()
        self._supplies: dict[uuid.UUID | None, list[SupplyLevel]] = {}
        self._tallies: dict[Path, Tally] = {}

    def poke(self) -> None:
        """A job ended: read soon."""
        self._poke.set()

    def counting(self, printer: Printer, *, keep_counters: bool) -> CountingPrinter:
        """Wrap a printer (``keep_counters``: the agent keeps its counters, a simulator)."""
        tally = None
        if keep_counters:
            path = self.state / "counters.json"
            tally = self._tallies.setdefault(path, Tally(path))
        return CountingPrinter(printer, tally, self.poke)

    @staticmethod
    def source(printer: Printer) -> CounterSource | None:
        """Where a printer's readings come from."""
        inner = printer.inner if isinstance(printer, CountingPrinter) else printer
        if isinstance(printer, CountingPrinter) and printer.tally is not None:
            return TallySource(printer.tally)
        if isinstance(inner, IppPrinter):
            return IppSource(inner)
        return None

    async def run(self, fleet: Fleet, stop: asyncio.Event) -> None:
        """Report the fleet's printers until ``stop``."""
        while not stop.is_set():
            try:
                await self.report_all(fleet)
            except Exception:
                log.exception("telemetry round failed")
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._poke.wait())]
            await asyncio.wait(
                waiters, timeout=self.settings.interval_s, return_when=asyncio.FIRST_COMPLETED
            )
            for w in waiters:
                w.cancel()
            if self._poke.is_set() and not stop.is_set():
                self._poke.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.after_job_s)

    async def report_all(self, fleet: Fleet) -> None:
        """One round over the fleet."""
        for slot in list(fleet.slots.values()):
            source = self.source(slot.printer)
            if source is None:
                continue
            try:
                frames = await self.frames(source, slot.device_id)
            except Exception as exc:
                log.warning("reading failed", printer=slot.printer.address, error=repr(exc))
                continue
            if frames:
                self.journal.enqueue(frames)
                self.wake_outbox()

    async def frames(
        self, source: CounterSource, device_id: uuid.UUID | None
    ) -> list[CountersReport | SuppliesReport]:
        """The frames of one printer's reading (a counters one only when consistent)."""
        kind = "ipp" if isinstance(source, IppSource) else "device"
        out: list[CountersReport | SuppliesReport] = []
        s = self.settings
        reading, attempts = await read_consistent(source, s.retries, s.retry_delay_s)
        if reading is None:
            log.info("no consistent counter reading; jobs kept running", attempts=attempts)
        else:
            out.append(CountersReport(
                reading_id=uuid.uuid4(), counters=reading.counters,
                activity_before=reading.activity, activity_after=reading.activity,
                attempts=reading.attempts, source=kind, device_id=device_id,
            ))  # fmt: skip
        supplies = await source.supplies()
        if supplies and supplies != self._supplies.get(device_id):
            self._supplies[device_id] = supplies
            out.append(SuppliesReport(supplies=supplies, source=kind, device_id=device_id))
        return out
