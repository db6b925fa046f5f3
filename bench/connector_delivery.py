"""How long a connector takes to deliver files to many printers, by ``--concurrency``.

A connector's executor and dispatcher (the code ``agent run --mode connector`` runs,
journal on disk included) deliver ``--files`` files to each of ``--printers`` file
endpoints, each a real HTTP server on loopback (``shared.testing.files``, in this
process) that answers an upload ``--delay`` seconds after it took it, like a printer
writing to flash. Printed: seconds and files per second for each concurrency.

Example: ``python -m bench.connector_delivery --printers 20 --files 5 --concurrency 1,4,16``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from services.agent.executor import Dispatcher, Executor, Target
from services.agent.journal import Journal
from services.agent.printers.files import HttpFiles
from services.agent.printers.simulator import DEFAULT_CAPABILITIES, SimulatedPrinter
from services.agent.state import StateDir
from shared.infra.kafka import free_port_range
from shared.logging import configure_logging
from shared.protocols.device import Command
from shared.testing.files import endpoint_app


async def _endpoints(root: Path, printers: int, delay: float) -> list[web.AppRunner]:
    runners = []
    for i in range(printers):
        runner = web.AppRunner(endpoint_app(root / f"printer-{i}", delay))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", free_port_range()).start()
        runners.append(runner)
    return runners


def _port(runner: web.AppRunner) -> int:
    (site,) = runner.sites
    return int(site.name.rsplit(":", 1)[1].rstrip("/"))


async def one_run(args: argparse.Namespace, concurrency: int, root: Path) -> float:
    """Seconds to deliver every file at ``concurrency``."""
    runners = await _endpoints(root / "devices", args.printers, args.delay)
    state = StateDir(root / "state")
    journal = Journal(state.root / "journal.sqlite3")
    printer = SimulatedPrinter(root / "spool", DEFAULT_CAPABILITIES)
    targets = {
        uuid.uuid4(): HttpFiles(f"http://127.0.0.1:{_port(r)}/files") for r in runners
    }  # fmt: skip

    def resolve(cmd: Command) -> Target:
        assert cmd.target_device_id is not None
        pid = cmd.target_device_id
        return Target(printer, pid, pid, targets[pid], True)

    executor = Executor(journal, state, resolve, lambda: None, hold=True)
    dispatcher = Dispatcher(executor, asyncio.Semaphore(concurrency))
    content = base64.b64encode(b"F" * args.size).decode()
    started = time.perf_counter()
    for i in range(args.files):
        for pid in targets:
            payload = {"name": f"f{i}.bin", "purpose": "firmware", "content_b64": content}
            dispatcher.submit(
                Command(command_id=uuid.uuid4(), name="deliver_file", payload=payload,
                        issued_at=datetime.now(UTC), target_device_id=pid)
            )  # fmt: skip
    await dispatcher.drain(3600)
    elapsed = time.perf_counter() - started
    await dispatcher.close()
    delivered = sum(1 for _ in (root / "devices").glob("printer-*/firmware/*.bin"))
    assert delivered == args.files * args.printers, delivered
    for files in targets.values():
        await files.close()
    for runner in runners:
        await runner.cleanup()
    journal.close()
    return elapsed


async def main(args: argparse.Namespace) -> None:
    configure_logging("bench", "WARNING", json=False)
    total = args.printers * args.files
    print(f"{args.printers} printers x {args.files} files of {args.size} B, "
          f"each answered {args.delay:g} s after it was taken")  # fmt: skip
    for concurrency in args.concurrency:
        with tempfile.TemporaryDirectory(prefix="pc-bench-connector-") as tmp:
            elapsed = await one_run(args, concurrency, Path(tmp))
        print(f"concurrency {concurrency:>3}: {elapsed:7.2f} s  {total / elapsed:8.1f} files/s")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--printers", type=int, default=20)
    p.add_argument("--files", type=int, default=5, help="files per printer")
    p.add_argument("--size", type=int, default=64 * 1024, help="bytes per file")
    p.add_argument("--delay", type=float, default=0.05, help="seconds a printer takes per file")
    p.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")],
                   default=[1, 4, 16])  # fmt: skip
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
