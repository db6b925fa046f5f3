"""``agent run``: wire state, journal, printers, executor and connection; stop on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import aiohttp

from services.agent.cloud import CloudApi, CloudError
from services.agent.connection import Connection, Link
from services.agent.connector import (
    Fleet,
    connector_resolver,
    ipp_printer_factory,
    job_targets,
    printer_resolver,
)
from services.agent.dnssd import Advertiser, Queue, advertise_loop
from services.agent.download import Downloads
from services.agent.e2e import EndToEnd
from services.agent.executor import DEFAULT_CONCURRENCY, Dispatcher, Executor, Resolve
from services.agent.jobs import JobLoop
from services.agent.journal import Journal
from services.agent.panel import Panel
from services.agent.printers import Printer
from services.agent.printers.ipp import IppPrinter
from services.agent.printers.simulator import SimulatedPrinter, load_capabilities
from services.agent.state import BridgedDevice, StateDir
from services.agent.telemetry import Telemetry
from shared.logging import get_logger
from shared.printing.capabilities import Capabilities

log = get_logger(__name__)
Mode = Literal["simulator", "ipp", "connector"]
AGENT_VERSION = "0.1.0"


@dataclass(frozen=True)
class RunConfig:
    """Everything ``agent run`` was asked to do."""

    state: Path
    gateway: str
    mode: Mode
    spool: Path | None = None
    capabilities: Path | None = None
    printer_uri: str | None = None
    probe_interval: float = 60.0
    probe_timeout: float = 3.0
    print_timeout: float = 60.0
    print_seconds: float = 0.0
    shutdown_grace: float = 10.0
    concurrency: int = DEFAULT_CONCURRENCY
    """Jobs, settings and files sent to printers at once."""
    api_url: str | None = None
    jobs_interval: float = 30.0
    login_qr: bool = True
    advertise: bool = False
    """Announce the cloud queues this agent fronts over DNS-SD (needs the API URL)."""
    advertise_interfaces: tuple[str, ...] = ()
    """Addresses of the interfaces to announce on (all when empty)."""
    advertise_name: str = ""
    advertise_note: str = ""


def _single_printer(config: RunConfig) -> Printer:
    if config.mode == "simulator":
        spool = config.spool or config.state / "spool"
        return SimulatedPrinter(spool, load_capabilities(config.capabilities), config.print_seconds)
    if not config.printer_uri:
        raise ValueError("--printer-uri is required in ipp mode")
    return IppPrinter(config.printer_uri, config.print_timeout, config.probe_timeout)


def fronted_queues(
    fleet: Fleet, state: StateDir, config: RunConfig, cloud: CloudApi | None = None
) -> Callable[[], Awaitable[list[Queue]]]:
    """The cloud queues of the printers behind this agent, with what each reports now
    (the last capabilities read while a printer does not answer), and with ``cloud`` the
    virtual printers they are members of (the last list read while the API does not
    answer)."""
    known: dict[uuid.UUID, Capabilities] = {}
    virtual: list[Queue] = []

    async def queues() -> list[Queue]:
        identity = state.identity()
        found = []
        for slot in list(fleet.slots.values()):
            printer_id = slot.device_id or (identity.device_id if identity else None)
            if printer_id is None:  # not claimed yet
                continue
            with contextlib.suppress(Exception):
                known[printer_id] = (await slot.printer.probe()).capabilities
            caps = known.get(
                printer_id, Capabilities(document_format_supported=["application/pdf"])
            )
            name = config.advertise_name
            if slot.device_id is not None or not name:  # a connector's, or unnamed
                name = f"{name or 'Printcloud'} {str(printer_id)[:8]}"
            found.append(Queue(printer_id, name, config.advertise_note, caps))
        if cloud is not None:
            try:
                virtual[:] = [
                    Queue(uuid.UUID(vp["virtual_printer_id"]), str(vp["name"]),
                          config.advertise_note,
                          Capabilities.model_validate(vp["effective_capabilities"]))
                    for vp in await cloud.virtual_printers()
                ]  # fmt: skip
            except (CloudError, KeyError, ValueError) as exc:
                log.warning("virtual printers not read; announcing the last known", error=str(exc))
        return found + virtual

    return queues


def _release_held(
    journal: Journal, dispatcher: Dispatcher, link: Link
) -> Callable[[uuid.UUID, bool], None]:
    """When a connector's printer answers: the commands held for it go out, and when it
    is back, its jobs are listed again."""

    def answered(device_id: uuid.UUID, back: bool) -> None:
        held = journal.held(device_id)
        if back or held:
            log.info("printer reachable", printer_id=str(device_id), held=len(held), back=back)
        for cmd in held:
            dispatcher.submit(cmd)
        if back and link.jobs is not None:
            link.jobs.poke()

    return answered


async def run_agent(config: RunConfig) -> None:
    """Serve the gateway until SIGTERM/SIGINT, then finish running commands and close (1001)."""
    state = StateDir(config.state)
    lock = state.lock()
    state.private_key()  # fail early on a bad key file
    journal = Journal(config.state / "journal.sqlite3")
    journal.prune()
    outbox = asyncio.Event()
    outbox.set()
    telemetry = Telemetry(journal, outbox.set, config.state)
    make_ipp = ipp_printer_factory(config.print_timeout, config.probe_timeout)

    def make_printer(uri: str) -> Printer:
        return telemetry.counting(make_ipp(uri), keep_counters=False)

    fleet: Fleet
    resolve: Resolve
    if config.mode == "connector":
        fleet = Fleet()
        await fleet.replace(state.devices(), make_printer)
        resolve = connector_resolver(fleet)

        async def devices_changed(devices: list[BridgedDevice]) -> None:
            await fleet.replace(devices, make_printer)
            kept = {d.printer_id for d in devices}
            for cmd in journal.held():  # for a printer no longer bridged: answered rejected
                if cmd.target_device_id not in kept:
                    dispatcher.submit(cmd)

        executor = Executor(journal, state, resolve, outbox.set, devices_changed, hold=True)
    else:
        simulated = config.mode == "simulator"
        fleet = Fleet.single(telemetry.counting(_single_printer(config), keep_counters=simulated))
        resolve = printer_resolver(fleet, state.identity)
        executor = Executor(journal, state, resolve, outbox.set)
    bound = asyncio.Semaphore(config.concurrency)
    dispatcher = Dispatcher(executor, bound)
    link = Link(
        url=config.gateway, state=state, journal=journal, fleet=fleet, dispatcher=dispatcher,
        outbox=outbox, kind="connector" if config.mode == "connector" else "printer",
        agent=f"printcloud-agent/{AGENT_VERSION} ({config.mode})",
        probe_interval=config.probe_interval, shutdown_grace=config.shutdown_grace,
    )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    api_url = config.api_url or state.cloud().get("api_url")
    log.info(
        "agent starting", mode=config.mode, gateway=config.gateway, api=api_url or "",
        fingerprint=state.fingerprint(), state=str(config.state),
    )  # fmt: skip
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=60))
    jobs_task: asyncio.Task[None] | None = None
    cloud = CloudApi(api_url, state, http) if api_url else None
    if cloud is not None:
        link.jobs = JobLoop(
            cloud, journal, Downloads(config.state / "downloads"),
            Panel(state), job_targets(fleet, state.identity, connector=config.mode == "connector"),
            outbox.set, interval=config.jobs_interval, login_qr=config.login_qr, bound=bound,
            e2e=None if config.mode == "connector" else EndToEnd(cloud, state),
        )  # fmt: skip
        jobs_task = asyncio.create_task(link.jobs.run(stop))
    else:
        log.warning("no API URL (--api-url): jobs come only as print_job commands")
    fleet.on_reachable = _release_held(journal, dispatcher, link)
    telemetry_task = asyncio.create_task(telemetry.run(fleet, stop))
    advertise_task: asyncio.Task[None] | None = None
    if config.advertise and not api_url:
        log.warning("no API URL (--api-url): nothing to advertise over DNS-SD")
    elif config.advertise:
        assert api_url is not None
        advertiser = Advertiser(api_url, list(config.advertise_interfaces) or None)
        advertise_task = asyncio.create_task(
            advertise_loop(advertiser, fronted_queues(fleet, state, config, cloud), stop,
                           config.probe_interval)
        )  # fmt: skip
    try:
        await Connection(link).run(stop)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(telemetry_task, config.shutdown_grace)
        if advertise_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(advertise_task, config.shutdown_grace)
        if jobs_task is not None:
            stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(jobs_task, config.shutdown_grace)
        await http.close()
        await dispatcher.drain(config.shutdown_grace)
        await dispatcher.close()
        await fleet.close()
        journal.close()
        lock.close()
        log.info("agent stopped")
