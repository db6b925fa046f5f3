"""The job loop: list the printer's jobs, fetch each document, print it exactly once.

On every connect, on every ``notify`` frame and every ``interval`` seconds the agent
lists its jobs (``GET /v1/devices/me/jobs``; a connector gets the jobs of all its
printers, each naming its ``printer_id``). Each printer works through its own list,
in the order the cloud gave, one job at a time; a new listing replaces what a
printer has not started yet, so a job that left the queue (canceled, moved) is
dropped. For each fetchable job not already printed per the journal:

1. the document is downloaded (resumable, SHA-256 checked: see ``download``);
2. the journal records the job ``printing`` with the ``received`` and ``printing``
   frames, in one transaction;
3. the printer gets it with the job's settings;
4. one transaction records ``printed`` and queues ``completed`` (or ``failed``).

A job the journal holds as ``printing`` (the agent stopped in step 3) is first
looked for at the printer, exactly as for the ``print_job`` command. Jobs that are
not fetchable yet (secure release, owner not logged in) are shown on the panel.
A ``job_canceled`` notify drops a job not started and cancels one being printed.
A connector starts no job for a printer its last probe did not reach: the job stays
listed in the cloud, and the printer's jobs are listed again when it answers. At
most ``bound`` jobs and commands go to printers at once (one semaphore for both).

A job whose document cannot be fetched or printed (the cloud refuses the download,
the bytes are not what was announced, the printer or the agent fails on it) is tried
again after a growing pause, at most ``max_attempts`` times; then it is journaled
``failed`` and reported ``failed`` with the last reason, so no job waits forever.

The gateway does not acknowledge job status frames: one written to a websocket
that dies (or taken by a gateway that dies before passing it on) is lost. The
listing is the cloud's truth, so a listed job the journal holds as finished
(printed, failed, canceled) is reported again, once per listing, through the
journal's outbox; the cloud ignores a report it already applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.agent.cloud import CloudApi, CloudError, DeviceJob, NotClaimed
from services.agent.download import DocumentCorrupt, Downloads
from services.agent.e2e import EndToEnd
from services.agent.executor import DEFAULT_CONCURRENCY, Target
from services.agent.journal import CANCELED, JobChange, Journal
from services.agent.panel import Panel
from services.agent.printers import (
    DeviceUnreachable,
    OutcomeUnknown,
    PrintCanceled,
    PrintRefused,
    PrintRequest,
)
from shared.crypto.e2e import E2E_FORMAT, E2EError
from shared.logging import get_logger
from shared.protocols.device import JobStatus, Notify

log = get_logger(__name__)
MAX_ATTEMPTS = 5
"""Tries at fetching and printing one job before it is reported failed for good."""
RETRY_AFTER_S = 15.0
"""The pause after a job's first failed try; it doubles with each further one."""
LOGIN_REFRESH_MARGIN_S = 30.0
Targets = Callable[[], dict[uuid.UUID, Target]]


@dataclass
class Station:
    """One printer's share of the loop: what it has still to print, what it prints now."""

    printer_id: uuid.UUID
    pending: list[DeviceJob] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    current: uuid.UUID | None = None
    submitting: asyncio.Task[str] | None = None
    canceled_at_printer: bool = False
    worker: asyncio.Task[None] | None = None
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()


class JobLoop:
    """Fetches and prints the jobs of every printer behind this agent."""

    def __init__(
        self,
        api: CloudApi,
        journal: Journal,
        downloads: Downloads,
        panel: Panel,
        targets: Targets,
        outbox: Callable[[], None],
        *,
        interval: float = 30.0,
        login_qr: bool = True,
        max_attempts: int = MAX_ATTEMPTS,
        retry_after_s: float = RETRY_AFTER_S,
        bound: asyncio.Semaphore | None = None,
        e2e: EndToEnd | None = None,
    ) -> None:
        self.api = api
        self.journal = journal
        self.downloads = downloads
        self.panel = panel
        self.targets = targets
        self.outbox = outbox
        self.interval = interval
        self.login_qr = login_qr
        self.wake = asyncio.Event()
        self.stations: dict[uuid.UUID, Station] = {}
        self.canceled: set[uuid.UUID] = set()
        self.max_attempts = max_attempts
        self.retry_after_s = retry_after_s
        self.bound = bound or asyncio.Semaphore(DEFAULT_CONCURRENCY)
        self.e2e = e2e
        self.attempts: dict[uuid.UUID, int] = {}
        self.retry_at: dict[uuid.UUID, float] = {}
        self.synced = 0  # completed listings (for status and tests)
        self._cancels: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------------ triggers

    def poke(self) -> None:
        """List the jobs now (on connect)."""
        self.wake.set()

    def notified(self, frame: Notify) -> None:
        """A hint from the cloud: act on cancellations and sessions, then list again."""
        if frame.kind == "job_canceled":
            for job_id in frame.job_ids:
                self.cancel(job_id)
        elif frame.kind in ("session_opened", "session_closed"):
            printer_id = frame.target_device_id or self._own_id()
            if printer_id is not None:
                self.panel.session(printer_id, frame.kind == "session_opened", frame.detail)
                with contextlib.suppress(OSError):
                    self.panel.save()
        self.wake.set()

    def cancel(self, job_id: uuid.UUID) -> None:
        """Drop ``job_id`` if not started; cancel it at the printer if being printed."""
        self.canceled.add(job_id)
        for station in self.stations.values():
            station.pending = [j for j in station.pending if j.job_id != job_id]
            if station.current == job_id:
                task = asyncio.create_task(self._cancel_current(station, job_id))
                self._cancels.add(task)
                task.add_done_callback(self._cancels.discard)

    def _own_id(self) -> uuid.UUID | None:
        ids = list(self.targets())
        return ids[0] if len(ids) == 1 else None

    # ------------------------------------------------------------------ the loop

    async def run(self, stop: asyncio.Event) -> None:
        """List, dispatch, wait for a trigger or the interval; until ``stop``."""
        await asyncio.to_thread(self._clean_downloads)
        next_login = next_key = 0.0
        try:
            while not stop.is_set():
                self.wake.clear()
                if self.e2e is not None and time.monotonic() >= next_key:
                    next_key = time.monotonic() + await self.refresh_key(self.e2e)
                await self.sync()
                if self.e2e is not None:
                    await self.e2e.scans(self.targets())
                if self.login_qr and time.monotonic() >= next_login:
                    next_login = time.monotonic() + await self.refresh_login()
                wait = self.interval
                if self.login_qr:
                    wait = max(0.1, min(wait, next_login - time.monotonic()))
                if self.e2e is not None:
                    wait = max(0.1, min(wait, next_key - time.monotonic()))
                stopping = asyncio.create_task(stop.wait())
                waking = asyncio.create_task(self.wake.wait())
                await asyncio.wait({stopping, waking}, timeout=wait, return_when="FIRST_COMPLETED")
                for task in (stopping, waking):
                    task.cancel()
        finally:
            await self.close()

    async def close(self, grace: float = 10.0) -> None:
        """Start nothing new, let a print in progress finish (``grace`` s), stop the workers."""
        for station in self.stations.values():
            station.pending = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                for station in self.stations.values():
                    await station.idle.wait()
        workers = [s.worker for s in self.stations.values() if s.worker is not None]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    async def sync(self) -> None:
        """List the jobs once and hand each printer its list."""
        try:
            jobs = await self.api.jobs()
        except NotClaimed:
            log.info("jobs not listed: the device does not know its identity yet")
            return
        except CloudError as exc:
            log.warning("jobs not listed", error=str(exc), status=exc.status)
            return
        targets = self.targets()
        by_printer: dict[uuid.UUID, list[DeviceJob]] = {pid: [] for pid in targets}
        for job in jobs:
            if job.printer_id not in by_printer:
                log.warning(
                    "a job for a printer this agent does not serve", job_id=str(job.job_id),
                    printer_id=str(job.printer_id),
                )  # fmt: skip
                continue
            by_printer[job.printer_id].append(job)
        changed = False
        again: list[JobStatus] = []
        for printer_id, listed in by_printer.items():
            waiting = [_summary(j) for j in listed if not j.fetchable]
            changed |= self.panel.waiting(printer_id, waiting)
            station = self.stations.get(printer_id)
            if station is None:
                station = self.stations[printer_id] = Station(printer_id)
                station.worker = asyncio.create_task(self._work(station))
            again += self._reported_again(listed, station, targets[printer_id])
            station.pending = [j for j in listed if j.fetchable and self._todo(j, station)]
            if station.pending:
                station.wake.set()
        if again:
            self.journal.enqueue(again)
            self.outbox()
        self.panel.keep_only(set(targets))
        if changed:
            await asyncio.to_thread(self.panel.save)
        self.synced += 1

    def _reported_again(
        self, listed: list[DeviceJob], station: Station, target: Target
    ) -> list[JobStatus]:
        """The final status of each listed job the journal holds as finished: the cloud
        still lists it, so its report was lost (or is not applied yet: no harm done)."""
        frames: list[JobStatus] = []
        seen: set[uuid.UUID] = set()
        for job in listed:
            if job.job_id == station.current or job.job_id in seen:
                continue
            seen.add(job.job_id)
            known = self.journal.job(job.job_id)
            report = known.report() if known is not None else None
            if report is None:
                continue
            state, detail = report
            if self.journal.status_unsent(job.job_id, state):
                continue  # the report still waits for a connection
            log.info(
                "job reported again: the cloud still lists it", job_id=str(job.job_id),
                state=state, printer_id=str(station.printer_id),
            )  # fmt: skip
            frames.append(_status(job.job_id, target, state, detail))
        return frames

    def _todo(self, job: DeviceJob, station: Station) -> bool:
        if job.job_id == station.current or job.job_id in self.canceled:
            return False
        known = self.journal.job(job.job_id)
        if known is not None and known.state != "printing":
            return False  # finished: reported again, never printed again
        return time.monotonic() >= self.retry_at.get(job.job_id, 0.0)

    async def _work(self, station: Station) -> None:
        while True:
            await station.wake.wait()
            station.wake.clear()
            while station.pending:
                job = station.pending.pop(0)
                target = self.targets().get(station.printer_id)
                if target is None or target.reachable is False:
                    break  # listed again once the printer answers (a connector's)
                station.idle.clear()
                try:
                    async with self.bound:
                        await self._one(station, target, job)
                except Exception as exc:  # one bad job must never stop the printer's loop
                    reason = f"the agent failed on the job: {type(exc).__name__}: {exc}"
                    if self.attempts.get(job.job_id, 0) == 0:
                        log.exception("job not handled", job_id=str(job.job_id))
                    self._attempt_failed(target, job.job_id, reason)
                finally:
                    station.current = None
                    station.submitting = None
                    station.canceled_at_printer = False
                    station.idle.set()

    # ------------------------------------------------------------------ one job

    async def _one(self, station: Station, target: Target, job: DeviceJob) -> None:
        job_id = job.job_id
        if job_id in self.canceled:
            return
        station.current = job_id

        def status(state: str, detail: str = "") -> JobStatus:
            return _status(job_id, target, state, detail)

        known = self.journal.job(job_id)
        if known is not None and known.state != "printing":
            return
        if known is not None and known.state == "printing":
            # An earlier attempt was cut short: the printer may have the job already.
            try:
                ref = await target.printer.find_job(job_id)
            except DeviceUnreachable as exc:
                log.warning(
                    "could not check an earlier attempt", job_id=str(job_id), error=str(exc)
                )
                return
            if ref is not None:
                self.journal.finish_job(JobChange(job_id, "printed", ref), [status("completed")])
                self.outbox()
                await asyncio.to_thread(self.downloads.forget, job_id)
                log.info("job found at the printer after a restart", job_id=str(job_id), ref=ref)
                return

        document = job.document
        try:
            path = await self.downloads.fetch(
                self.api.get, self.api.url(document.url), job_id, document.sha256,
                document.size,
            )  # fmt: skip
        except DocumentCorrupt as exc:
            self._give_up(target, job_id, str(exc))
            return
        except NotClaimed:
            return
        except CloudError as exc:
            if exc.problem == "release-required" or exc.status == 403:
                log.info("job not released yet", job_id=str(job_id), error=str(exc))
            elif exc.status in (404, 410):
                log.info("job gone before it was fetched", job_id=str(job_id))
                await asyncio.to_thread(self.downloads.forget, job_id)
            else:
                self._attempt_failed(target, job_id, f"the document was not fetched: {exc}")
            return
        if job_id in self.canceled:
            await asyncio.to_thread(self.downloads.forget, job_id)
            return
        document_format = document.format
        if document_format == E2E_FORMAT:
            try:
                document_format, path = await self._open(job_id, path, station.printer_id)
            except E2EError as exc:
                self._give_up(target, job_id, f"the protected document does not open: {exc}")
                return

        self.journal.begin_job(
            job_id, target.device_id, None, [status("received"), status("printing")]
        )
        self.outbox()
        request = PrintRequest(
            job_id, path, document_format, job.title, job.settings.copies, job.settings
        )
        log.info("printing", job_id=str(job_id), printer_id=str(station.printer_id))
        station.submitting = asyncio.create_task(target.printer.submit(request))
        await asyncio.wait({station.submitting})
        task = station.submitting
        if task.cancelled():
            error: BaseException | None = PrintCanceled("canceled while sent to the printer")
        else:
            error = task.exception()
        if error is None and station.canceled_at_printer:
            error = PrintCanceled("canceled at the printer")
        if isinstance(error, PrintCanceled):
            frame = status("canceled", str(error))
            change = JobChange(job_id, "failed", CANCELED, frame.detail)
        elif isinstance(error, DeviceUnreachable) and target.reachable is not None:
            # A connector's printer went away since its last check: it certainly did not
            # get the job, which stays "printing" and is tried again once it answers.
            log.warning("printer unreachable; the job waits for it", job_id=str(job_id))
            return
        elif isinstance(error, DeviceUnreachable | PrintRefused):
            frame = status("failed", str(error))
            change = JobChange(job_id, "failed", detail=frame.detail)
        elif isinstance(error, OutcomeUnknown):
            # The job stays "printing": the next attempt first asks the printer.
            log.warning("print outcome unknown", job_id=str(job_id), error=str(error))
            return
        elif error is not None:
            raise error
        else:
            ref = task.result()
            change, frame = JobChange(job_id, "printed", ref), status("completed")
        self.journal.finish_job(change, [frame])
        self.outbox()
        await asyncio.to_thread(self.downloads.forget, job_id)
        self._settled(job_id)
        log.info("job finished", job_id=str(job_id), state=frame.state, detail=frame.detail)

    async def _open(self, job_id: uuid.UUID, path: Path, printer_id: uuid.UUID) -> tuple[str, Path]:
        """A protected document decrypted (its real format and where it is), or E2EError."""
        if self.e2e is None:
            raise E2EError("only a printer opens protected documents; this agent holds no key")
        opened = self.downloads.opened(job_id)
        real = await self.e2e.open(path, opened, printer_id)
        log.info("protected document opened", job_id=str(job_id), format=real)
        return real, opened

    def _attempt_failed(self, target: Target, job_id: uuid.UUID, reason: str) -> None:
        """One more failed try at a job: a pause that doubles, or (the last) give up."""
        tries = self.attempts[job_id] = self.attempts.get(job_id, 0) + 1
        if tries >= self.max_attempts:
            self._give_up(target, job_id, f"{reason} (after {tries} attempts)")
            return
        pause = self.retry_after_s * 2 ** (tries - 1)
        self.retry_at[job_id] = time.monotonic() + pause
        log.warning(
            "job attempt failed", job_id=str(job_id), attempt=tries,
            max_attempts=self.max_attempts, retry_in_s=pause, error=reason,
        )  # fmt: skip

    def _give_up(self, target: Target, job_id: uuid.UUID, reason: str) -> None:
        """Journal the job failed for good and report it, with the reason."""
        frame = _status(job_id, target, "failed", reason)
        self.journal.give_up_job(job_id, target.device_id, frame.detail, [frame])
        self.outbox()
        self.downloads.forget(job_id)
        self._settled(job_id)
        log.warning("job failed for good", job_id=str(job_id), error=reason)

    def _settled(self, job_id: uuid.UUID) -> None:
        self.attempts.pop(job_id, None)
        self.retry_at.pop(job_id, None)

    async def _cancel_current(self, station: Station, job_id: uuid.UUID) -> None:
        target = self.targets().get(station.printer_id)
        if target is None or station.current != job_id:
            return
        try:
            station.canceled_at_printer = await target.printer.cancel(job_id)
        except Exception:  # the printer may not support it; the upload is stopped below
            log.exception("cancel at the printer failed", job_id=str(job_id))
        task = station.submitting
        if not station.canceled_at_printer and task is not None and not task.done():
            task.cancel()
        log.info("job canceled while printing", job_id=str(job_id))

    # ------------------------------------------------------------------ end-to-end key

    async def refresh_key(self, e2e: EndToEnd) -> float:
        """Publish the printer's end-to-end key and show it on the panel; seconds until
        the next look (soon again when it could not be published)."""
        try:
            next_in = await e2e.refresh()
        except NotClaimed:
            return self.interval
        except CloudError as exc:
            log.warning("end-to-end key not published", error=str(exc), status=exc.status)
            return min(self.interval, 5.0)
        for printer_id in self.targets():
            self.panel.e2e(printer_id, e2e.payload())
        await asyncio.to_thread(self.panel.save)
        return next_in

    # ------------------------------------------------------------------ panel login

    async def refresh_login(self) -> float:
        """A fresh phone-login code on every printer's panel; seconds until the next."""
        targets = self.targets()
        next_in = self.interval
        for printer_id, target in targets.items():
            try:
                code = await self.api.login_challenge(target.device_id)
            except NotClaimed:
                return self.interval
            except CloudError as exc:
                log.warning(
                    "no login code for the panel", printer_id=str(printer_id), error=str(exc)
                )
                continue
            expires = _expiry(code)
            self.panel.login(
                printer_id, {"qr_payload": code["qr_payload"], "expires_at": expires.isoformat()}
            )
            left = (expires - datetime.now(UTC)).total_seconds()
            next_in = min(next_in, max(1.0, left - min(LOGIN_REFRESH_MARGIN_S, left / 4)))
        if targets:
            await asyncio.to_thread(self.panel.save)
        return next_in

    def _clean_downloads(self) -> None:
        for job_id in self.downloads.kept():
            known = self.journal.job(job_id)
            if known is not None and known.state != "printing":
                self.downloads.forget(job_id)


def _status(job_id: uuid.UUID, target: Target, state: str, detail: str = "") -> JobStatus:
    return JobStatus.model_validate(
        {"job_id": job_id, "state": state, "detail": detail[:2000], "device_id": target.device_id}
    )


def _summary(job: DeviceJob) -> dict[str, Any]:
    return {
        "job_id": str(job.job_id), "title": job.title, "pages": job.pages,
        "owner_display_name": job.owner_display_name, "requires_login": job.requires_login,
    }  # fmt: skip


def _expiry(code: dict[str, Any]) -> datetime:
    """When a login code expires (``expires_at``, or ``expires_in`` seconds; else 2 minutes)."""
    if isinstance(code.get("expires_at"), str):
        with contextlib.suppress(ValueError):
            at = datetime.fromisoformat(code["expires_at"].replace("Z", "+00:00"))
            return at if at.tzinfo else at.replace(tzinfo=UTC)
    seconds = code.get("expires_in")
    ttl = float(seconds) if isinstance(seconds, int | float) else 120.0
    return datetime.now(UTC) + timedelta(seconds=ttl)
