"""Executing commands: each one at most once, its outcome journaled before the ack.

A command whose id is in the journal is acknowledged again from the journal and
not executed again; a ``print_job`` for a job the journal says was printed is not
printed again, whatever command carries it. Commands for one printer run one at a
time, in the order they came (a connector runs its printers side by side).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import ValidationError

from services.agent import payloads
from services.agent.journal import CommandRecord, JobChange, Journal, Outcome
from services.agent.printers import (
    DeviceUnreachable,
    OutcomeUnknown,
    Printer,
    PrintRefused,
    PrintRequest,
    Unsupported,
)
from services.agent.printers.files import FileDelivery, FileTransport
from services.agent.state import BridgedDevice, StateDir, safe_name
from shared.crypto.encoding import b64_decode_any
from shared.logging import get_logger
from shared.protocols.device import Command, JobStatus

log = get_logger(__name__)
DEFAULT_CONCURRENCY = 8
"""Commands and jobs delivered to printers at once, unless told otherwise."""


@dataclass(frozen=True)
class Target:
    """The printer a command is for; ``device_id`` goes into frames (None: the agent)."""

    printer: Printer
    printer_id: uuid.UUID
    device_id: uuid.UUID | None = None
    files: FileTransport | None = None
    """How files reach the printer (None: kept in the agent's state directory)."""
    reachable: bool | None = None
    """What the last probe said (None: not known, or not probed: a printer agent's)."""


class Rejected(Exception):
    """The command cannot be for this agent (the message says why)."""


class Held(Exception):
    """A connector's printer cannot be reached now: the command waits for it."""


Resolve = Callable[[Command], Target | None]
DevicesChanged = Callable[[list[BridgedDevice]], Awaitable[None]]


class Executor:
    """Runs one command to its journaled outcome."""

    def __init__(
        self,
        journal: Journal,
        state: StateDir,
        resolve: Resolve,
        notify: Callable[[], None],
        devices_changed: DevicesChanged | None = None,
        *,
        hold: bool = False,
    ) -> None:
        self.journal = journal
        self.state = state
        self.resolve = resolve
        self.notify = notify
        self.devices_changed = devices_changed
        self.hold = hold
        """A connector holds what an unreachable printer cannot take (else: ``failed``)."""

    async def execute(self, cmd: Command) -> CommandRecord | None:
        """Execute ``cmd`` (or acknowledge it again if it was executed before); None when
        it is held for a printer that cannot be reached now."""
        known = self.journal.command(cmd.command_id)
        if known is not None:
            log.info(
                "command already executed, acknowledging again", command_id=str(cmd.command_id)
            )
            self.journal.enqueue([known.ack()])
            self.notify()
            return known
        try:
            record = await self._run(cmd)
        except Held as exc:
            assert cmd.target_device_id is not None
            if self.journal.hold(cmd, cmd.target_device_id):
                log.warning(
                    "printer unreachable; the command waits for it", command=cmd.name,
                    command_id=str(cmd.command_id), error=str(exc),
                )  # fmt: skip
            return None
        except Exception as exc:  # one bad command must never stop the agent
            log.exception("command failed unexpectedly", command_id=str(cmd.command_id))
            record = self._finish(cmd, "failed", f"internal error: {type(exc).__name__}")
        self.notify()
        log.info(
            "command finished", command_id=str(cmd.command_id), command=cmd.name,
            outcome=record.outcome, detail=record.detail,
        )  # fmt: skip
        return record

    async def _run(self, cmd: Command) -> CommandRecord:
        handlers = {
            "print_job": self._print_job,
            "identify": self._identify,
            "deliver_file": self._deliver_file,
            "apply_settings": self._apply_settings,
            "sync_devices": self._sync_devices,
        }
        handler = handlers.get(cmd.name)
        if handler is None:
            return self._finish(cmd, "rejected", f"unknown command {cmd.name!r}")
        try:
            return await handler(cmd)
        except ValidationError as exc:
            return self._finish(cmd, "rejected", payloads.reason(exc))
        except Rejected as exc:
            return self._finish(cmd, "rejected", str(exc))

    def _finish(
        self,
        cmd: Command,
        outcome: Outcome,
        detail: str,
        job: JobChange | None = None,
        frames: list[JobStatus] | None = None,
    ) -> CommandRecord:
        record = CommandRecord(cmd.command_id, cmd.name, outcome, detail)
        return self.journal.finish(
            record, target=cmd.target_device_id, job=job, frames=frames or []
        )

    def _target(self, cmd: Command) -> Target:
        target = self.resolve(cmd)
        if target is None:
            raise Rejected("this command needs a target_device_id naming a bridged printer")
        if self.hold and target.reachable is False:
            raise Held(f"device unreachable: {target.printer.address}")
        return target

    def _unreachable(self, cmd: Command, exc: Exception) -> CommandRecord:
        """The printer did not answer: a connector holds the command, a printer fails it."""
        if self.hold:
            raise Held(str(exc)) from exc
        return self._finish(cmd, "failed", str(exc))

    # ------------------------------------------------------------------ print_job

    async def _print_job(self, cmd: Command) -> CommandRecord:
        job = payloads.PrintJob.model_validate(cmd.payload)
        target = self._target(cmd)
        try:
            document = b64_decode_any(job.document_b64)
        except ValueError:
            raise Rejected("invalid payload: document_b64: not base64") from None

        def status(state: str, detail: str = "") -> JobStatus:
            return JobStatus.model_validate(
                {"job_id": job.job_id, "state": state, "detail": detail[:2000],
                 "device_id": target.device_id}
            )  # fmt: skip

        known = self.journal.job(job.job_id)
        if known is not None and known.state == "printed":
            return self._finish(
                cmd, "done", f"already printed ({known.printer_job})", frames=[status("completed")]
            )
        if known is not None and known.state == "printing":
            # An earlier attempt was cut short: the printer may have the job already.
            try:
                ref = await target.printer.find_job(job.job_id)
            except DeviceUnreachable as exc:
                if self.hold:
                    raise Held(str(exc)) from exc
                return self._finish(cmd, "failed", f"{exc} (could not check an earlier attempt)")
            if ref is not None:
                change = JobChange(job.job_id, "printed", ref)
                return self._finish(
                    cmd, "done", f"printed ({ref}, found after a restart)", change,
                    [status("completed")],
                )  # fmt: skip

        self.journal.begin_job(
            job.job_id, target.device_id, cmd.command_id, [status("received"), status("printing")]
        )
        self.notify()
        request = PrintRequest(job.job_id, document, job.document_format, job.title, job.copies)
        try:
            ref = await target.printer.submit(request)
        except DeviceUnreachable as exc:
            if self.hold:  # the job stays "printing": the next attempt asks the printer first
                raise Held(str(exc)) from exc
            frame = status("failed", str(exc))
            change = JobChange(job.job_id, "failed", detail=frame.detail)
            return self._finish(cmd, "failed", str(exc), change, [frame])
        except PrintRefused as exc:
            frame = status("failed", str(exc))
            change = JobChange(job.job_id, "failed", detail=frame.detail)
            return self._finish(cmd, "failed", str(exc), change, [frame])
        except OutcomeUnknown as exc:
            # The job stays "printing": a retry first asks the printer whether it has it.
            return self._finish(cmd, "failed", f"{exc}; it may have printed")
        change = JobChange(job.job_id, "printed", ref)
        return self._finish(cmd, "done", f"printed ({ref})", change, [status("completed")])

    # ------------------------------------------------------------------ the others

    async def _identify(self, cmd: Command) -> CommandRecord:
        target = self.resolve(cmd)
        if target is not None:
            await target.printer.identify()
        return self._finish(cmd, "done", "")

    async def _deliver_file(self, cmd: Command) -> CommandRecord:
        delivery = payloads.DeliverFile.model_validate(cmd.payload)
        target = self._target(cmd)
        try:
            content = b64_decode_any(delivery.content_b64)
        except ValueError:
            raise Rejected("invalid payload: content_b64: not base64") from None
        if not safe_name(delivery.name):
            raise Rejected(f"invalid payload: name: not a plain file name: {delivery.name!r}")
        if target.files is not None:
            return await self._send_file(cmd, target.files, delivery, content)
        if self.hold:
            return self._finish(
                cmd, "rejected", "unsupported: the printer takes no files (no files_uri)"
            )
        try:  # a printer agent: the agent's own store is the printer's
            await target.printer.probe()
        except DeviceUnreachable as exc:
            return self._finish(cmd, "failed", str(exc))
        path = await asyncio.to_thread(
            self.state.store_delivery, target.printer_id, delivery.purpose, delivery.name, content
        )
        return self._finish(cmd, "done", f"stored {path.relative_to(self.state.root)}")

    async def _send_file(
        self, cmd: Command, files: FileTransport, delivery: payloads.DeliverFile, content: bytes
    ) -> CommandRecord:
        """Send a file once: a device that already has it (a send cut short by a crash or
        a lost answer) is not sent it again."""
        item = FileDelivery(cmd.command_id, delivery.purpose, delivery.name, content)
        try:
            if await files.has(cmd.command_id):
                return self._finish(cmd, "done", f"delivered to {files.address} (already there)")
            await files.send(item)
        except (DeviceUnreachable, OutcomeUnknown) as exc:
            return self._unreachable(cmd, exc)
        except PrintRefused as exc:
            return self._finish(cmd, "failed", str(exc))
        return self._finish(cmd, "done", f"delivered to {files.address}")

    async def _apply_settings(self, cmd: Command) -> CommandRecord:
        settings = payloads.ApplySettings.model_validate(cmd.payload)
        target = self._target(cmd)
        try:
            await target.printer.set_attributes(dict(settings.attributes))
        except DeviceUnreachable as exc:
            return self._unreachable(cmd, exc)
        except Unsupported as exc:
            return self._finish(cmd, "rejected", f"unsupported: {exc}")
        except PrintRefused as exc:
            return self._finish(cmd, "failed", str(exc))
        return self._finish(cmd, "done", "applied " + ", ".join(sorted(settings.attributes)))

    async def _sync_devices(self, cmd: Command) -> CommandRecord:
        if self.devices_changed is None:
            raise Rejected("only a connector keeps a list of devices")
        sync = payloads.SyncDevices.model_validate(cmd.payload)
        devices = [BridgedDevice(d.printer_id, d.uri, d.files_uri) for d in sync.devices]
        await asyncio.to_thread(self.state.save_devices, devices)
        record = self._finish(cmd, "done", f"{len(devices)} devices")
        await self.devices_changed(devices)
        return record


class Dispatcher:
    """Queues commands per target printer and runs each queue in order; at most
    ``bound`` commands run at once (all printers together)."""

    def __init__(self, executor: Executor, bound: asyncio.Semaphore | None = None) -> None:
        self.executor = executor
        self.bound = bound or asyncio.Semaphore(DEFAULT_CONCURRENCY)
        self._queues: dict[uuid.UUID | None, asyncio.Queue[Command]] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._queued: set[uuid.UUID] = set()

    def submit(self, cmd: Command) -> None:
        """Run ``cmd`` after the commands already queued for the same printer (once: a
        command already waiting in its queue is not queued again)."""
        if cmd.command_id in self._queued:
            return
        self._queued.add(cmd.command_id)
        queue = self._queues.get(cmd.target_device_id)
        if queue is None:
            queue = self._queues[cmd.target_device_id] = asyncio.Queue()
            self._workers.append(asyncio.create_task(self._work(queue)))
        queue.put_nowait(cmd)

    async def _work(self, queue: asyncio.Queue[Command]) -> None:
        while True:
            cmd = await queue.get()
            try:
                async with self.bound:
                    await self.executor.execute(cmd)
            except Exception:  # e.g. the journal's disk is full: the cloud delivers it again
                log.exception("command not recorded", command_id=str(cmd.command_id))
            finally:
                self._queued.discard(cmd.command_id)
                queue.task_done()

    async def drain(self, timeout: float) -> None:
        """Wait (at most ``timeout`` s) for the queued commands to finish."""
        try:
            async with asyncio.timeout(timeout):
                for queue in list(self._queues.values()):
                    await queue.join()
        except TimeoutError:
            log.warning("commands still running at shutdown")

    async def close(self) -> None:
        """Stop the workers."""
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
