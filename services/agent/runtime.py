"""``agent run``: wire state, journal, printers, executor and connection; stop on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from services.agent.connection import Connection, Link
from services.agent.connector import (
    Fleet,
    connector_resolver,
    ipp_printer_factory,
    printer_resolver,
)
from services.agent.executor import Dispatcher, Executor, Resolve
from services.agent.journal import Journal
from services.agent.printers import Printer
from services.agent.printers.ipp import IppPrinter
from services.agent.printers.simulator import SimulatedPrinter, load_capabilities
from services.agent.state import BridgedDevice, StateDir
from shared.logging import get_logger

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


def _single_printer(config: RunConfig) -> Printer:
    if config.mode == "simulator":
        spool = config.spool or config.state / "spool"
        return SimulatedPrinter(spool, load_capabilities(config.capabilities), config.print_seconds)
    if not config.printer_uri:
        raise ValueError("--printer-uri is required in ipp mode")
    return IppPrinter(config.printer_uri, config.print_timeout, config.probe_timeout)


async def run_agent(config: RunConfig) -> None:
    """Serve the gateway until SIGTERM/SIGINT, then finish running commands and close (1001)."""
    state = StateDir(config.state)
    lock = state.lock()
    state.private_key()  # fail early on a bad key file
    journal = Journal(config.state / "journal.sqlite3")
    journal.prune()
    outbox = asyncio.Event()
    outbox.set()
    make_printer = ipp_printer_factory(config.print_timeout, config.probe_timeout)
    fleet: Fleet
    resolve: Resolve
    if config.mode == "connector":
        fleet = Fleet()
        await fleet.replace(state.devices(), make_printer)
        resolve = connector_resolver(fleet)

        async def devices_changed(devices: list[BridgedDevice]) -> None:
            await fleet.replace(devices, make_printer)

        executor = Executor(journal, state, resolve, outbox.set, devices_changed)
    else:
        fleet = Fleet.single(_single_printer(config))
        resolve = printer_resolver(fleet, state.identity)
        executor = Executor(journal, state, resolve, outbox.set)
    dispatcher = Dispatcher(executor)
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
    log.info(
        "agent starting", mode=config.mode, gateway=config.gateway,
        fingerprint=state.fingerprint(), state=str(config.state),
    )  # fmt: skip
    try:
        await Connection(link).run(stop)
    finally:
        await dispatcher.drain(config.shutdown_grace)
        await dispatcher.close()
        await fleet.close()
        journal.close()
        lock.close()
        log.info("agent stopped")
