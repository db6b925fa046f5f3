"""The peers Printcloud is compared with, on the same machine and the same documents.

* **ipptool → ippeveprinter**: one ``ipptool`` process per job sends Print-Job straight
  to the printer, then polls Get-Job-Attributes every 5 ms until the job is completed.
* **CUPS → ippeveprinter**: a private ``cupsd`` (its own ServerRoot, spool and logs
  in a temporary directory, listening on loopback only) with one IPP Everywhere queue
  forwarding to the printer (``lpadmin -m everywhere``); jobs are sent to the queue by
  the same ``ipptool`` file, and completed means CUPS reports the job completed (its
  IPP backend waits for the printer to complete it).

"Printed" is the same for every path: the job completed at ``ippeveprinter`` and its
document landed in the printer's spool (checked for every job after the run). The
printer runs ``/bin/true`` as its processing command, so a job completes as soon as
its document has been received.

Each path is measured closed-loop at a fixed client concurrency: ``concurrency``
submitters each send a job and wait until it is printed before sending the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.infra.kafka import free_port
from shared.testing.ipp import IppPrinterProcess, start_ippeveprinter

POLL_S = 0.005
PRINT_AND_WAIT = """{
  NAME "Print-Job"
  OPERATION Print-Job
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR name requesting-user-name $user
  ATTR name job-name $jobname
  ATTR mimeMediaType document-format application/pdf
  FILE $filename
  DELAY "0,%(poll)s"
  STATUS successful-ok
  STATUS server-error-busy REPEAT-MATCH REPEAT-LIMIT 100000
  EXPECT job-id OF-TYPE integer
}
{
  NAME "Wait until completed"
  OPERATION Get-Job-Attributes
  DELAY "0,%(poll)s"
  GROUP operation-attributes-tag
  ATTR charset attributes-charset utf-8
  ATTR naturalLanguage attributes-natural-language en
  ATTR uri printer-uri $uri
  ATTR integer job-id $job-id
  ATTR name requesting-user-name $user
  STATUS successful-ok
  EXPECT job-state WITH-VALUE 9 REPEAT-NO-MATCH REPEAT-LIMIT 100000
}
"""

# One submission: (job name) -> seconds from submit to printed; raises if not printed.
Submit = Callable[[str], Awaitable[float]]


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))
    return ordered[rank]


def latency_ms(values: list[float]) -> dict[str, float]:
    """p50 / p99 / max / mean in milliseconds of latencies given in seconds."""
    if not values:
        return {}
    ms = [v * 1000 for v in values]
    return {
        "p50": round(statistics.median(ms), 1),
        "p99": round(percentile(ms, 0.99), 1),
        "max": round(max(ms), 1),
        "mean": round(statistics.fmean(ms), 1),
    }


async def closed_loop(
    submit: Submit, *, concurrency: int, jobs: int, budget_s: float, prefix: str
) -> dict[str, Any]:
    """``concurrency`` submitters share ``jobs`` jobs (or stop at ``budget_s``): each
    sends one, waits until it is printed, sends the next. Jobs/s and latency."""
    latencies: list[float] = []
    errors: list[str] = []
    names: list[str] = []
    counter = iter(range(jobs))
    started = time.monotonic()
    deadline = started + budget_s

    async def worker() -> None:
        for n in counter:
            if time.monotonic() > deadline:
                return
            name = f"{prefix}-{n}-{uuid.uuid4().hex[:8]}"
            try:
                latencies.append(await submit(name))
                names.append(name)
            except Exception as exc:  # counted and reported, the run goes on
                errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.monotonic() - started
    return {
        "concurrency": concurrency,
        "jobs": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "wall_s": round(wall, 2),
        "jobs_per_s": round(len(latencies) / wall, 1) if wall else None,
        "latency_ms": latency_ms(latencies),
        "names": names,
    }


def spooled(printer: IppPrinterProcess, names: list[str]) -> int:
    """How many of ``names`` have their document in the printer's spool."""
    present = {p.name.split("-", 1)[1].rsplit(".", 1)[0] for p in printer.spool.glob("*.pdf")}
    return sum(1 for n in names if n in present)


# ---------------------------------------------------------------------- ipptool


@dataclass
class IppTool:
    """``ipptool`` printing one document to a printer URI and waiting for completion."""

    document: Path
    test_file: Path

    @classmethod
    def prepare(cls, workdir: Path, document: bytes) -> IppTool:
        workdir.mkdir(parents=True, exist_ok=True)
        doc = workdir / "document.pdf"
        doc.write_bytes(document)
        test = workdir / "print-and-wait.test"
        test.write_text(PRINT_AND_WAIT % {"poll": POLL_S})
        return cls(doc, test)

    def submitter(self, uri: str) -> Submit:
        async def submit(name: str) -> float:
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                "ipptool", "-T", "30", "-d", f"jobname={name}", "-f", str(self.document),
                uri, str(self.test_file),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            out, _ = await proc.communicate()
            took = time.perf_counter() - started
            text = out.decode(errors="replace")
            if proc.returncode != 0 or "FAIL" in text or "Unexpected" in text:
                raise RuntimeError(f"ipptool exit {proc.returncode}: {text[-300:]}")
            return took

        return submit


# ---------------------------------------------------------------------- CUPS

_CUPSD_CONF = """Listen 127.0.0.1:%(port)d
LogLevel warn
MaxJobs 0
PreserveJobFiles Off
Browsing Off
DefaultAuthType None
WebInterface No
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""
_CUPS_FILES_CONF = """ServerRoot %(root)s
RequestRoot %(root)s/spool
TempDir %(root)s/tmp
CacheDir %(root)s/cache
StateDir %(root)s/state
ErrorLog %(root)s/logs/error_log
AccessLog %(root)s/logs/access_log
PageLog %(root)s/logs/page_log
Sandboxing relaxed
"""


@dataclass
class CupsServer:
    """A private cupsd in the foreground, on a loopback port, and its queue ``bench``."""

    root: Path
    port: int
    proc: subprocess.Popen[bytes]
    queue: str = "bench"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def queue_uri(self) -> str:
        return f"ipp://127.0.0.1:{self.port}/printers/{self.queue}"

    def add_queue(self, device_uri: str) -> float:
        """``lpadmin -m everywhere`` for a queue forwarding to ``device_uri``; seconds."""
        started = time.perf_counter()
        subprocess.run(
            ["lpadmin", "-h", self.host, "-p", self.queue, "-E", "-v", device_uri,
             "-m", "everywhere"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return time.perf_counter() - started

    def lp(self, path: Path, title: str) -> str:
        """Submit with ``lp``; the request id CUPS answered."""
        out = subprocess.run(
            ["lp", "-h", self.host, "-d", self.queue, "-t", title, str(path)],
            check=True, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        return out.stdout.strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def error_log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.root / "logs" / "error_log").read_text(errors="replace")[-3000:]
        return ""


def _traversable(root: Path, env: dict[str, str]) -> None:
    """cupsd runs filters and the backend as its unprivileged user (lp): let it reach
    the private directories (temporary directories are created 0700)."""
    with contextlib.suppress(KeyError, OSError):
        lp = grp.getgrnam("lp").gr_gid
        for sub in ("spool", "cache", "state", "ppd"):
            os.chown(root / sub, 0, lp)
            (root / sub).chmod(0o770 if sub == "spool" else 0o775)
    path = root
    while path != path.parent:
        mode = path.stat().st_mode
        if path.owner() == "root" and not mode & 0o001:
            path.chmod(mode | 0o005)
        if str(path) in ("/tmp", "/"):
            break
        path = path.parent


def start_cupsd(root: Path, env: dict[str, str]) -> CupsServer:
    """cupsd with its own configuration and state under ``root``, ready to answer."""
    cupsd = shutil.which("cupsd") or "/usr/sbin/cupsd"
    if not os.path.exists(cupsd):
        raise RuntimeError("cupsd is not installed: apt-get install cups")
    shutil.rmtree(root, ignore_errors=True)
    for sub in ("spool", "tmp", "cache", "state", "logs", "ppd"):
        (root / sub).mkdir(parents=True)
    (root / "tmp").chmod(0o1777)
    _traversable(root, env)
    port = free_port()
    (root / "cupsd.conf").write_text(_CUPSD_CONF % {"port": port})
    (root / "cups-files.conf").write_text(_CUPS_FILES_CONF % {"root": root})
    with (root / "logs" / "cupsd.out").open("ab") as out:
        proc = subprocess.Popen(
            [cupsd, "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")],
            env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    server = CupsServer(root, port, proc)
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"cupsd exited {proc.returncode}: {server.error_log()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                # lpstat answers only once the scheduler is fully up
                ok = subprocess.run(
                    ["lpstat", "-h", server.host, "-r"], capture_output=True, text=True
                )
                if "is running" in ok.stdout:
                    return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"cupsd did not start: {server.error_log()}")


@contextlib.contextmanager
def printer_for(env: dict[str, str], spool: Path, name: str) -> Iterator[IppPrinterProcess]:
    """An ippeveprinter that completes each job as soon as its document is in."""
    printer = start_ippeveprinter(env, spool, command="/bin/true", name=name)
    try:
        yield printer
    finally:
        printer.stop()


async def run_peers(
    env: dict[str, str],
    workdir: Path,
    document: bytes,
    *,
    concurrencies: list[int],
    jobs: int,
    budget_s: float,
) -> dict[str, Any]:
    """Both peers at each concurrency; each on its own fresh printer."""
    tool = IppTool.prepare(workdir / "ipptool", document)
    out: dict[str, Any] = {"ipptool": [], "cups": []}
    with printer_for(env, workdir / "ipp-direct" / "spool", "Bench direct") as printer:
        for c in concurrencies:
            row = await closed_loop(
                tool.submitter(printer.uri), concurrency=c, jobs=jobs, budget_s=budget_s,
                prefix=f"ipptool{c}",
            )  # fmt: skip
            row["printed_in_spool"] = spooled(printer, row.pop("names"))
            out["ipptool"].append(row)
    with printer_for(env, workdir / "ipp-cups" / "spool", "Bench behind CUPS") as printer:
        cups = start_cupsd(workdir / "cups", env)
        try:
            setup_s = await asyncio.to_thread(cups.add_queue, printer.uri)
            out["cups_queue_setup_s"] = round(setup_s, 3)
            # lp works against the same queue (one job, checked like the others)
            await asyncio.to_thread(cups.lp, tool.document, "lp-check")
            for c in concurrencies:
                row = await closed_loop(
                    tool.submitter(cups.queue_uri), concurrency=c, jobs=jobs,
                    budget_s=budget_s, prefix=f"cups{c}",
                )  # fmt: skip
                row["printed_in_spool"] = spooled(printer, row.pop("names"))
                out["cups"].append(row)
            out["cups_lp_check_printed"] = spooled(printer, ["lp-check"]) == 1
        finally:
            cups.stop()
    return out
