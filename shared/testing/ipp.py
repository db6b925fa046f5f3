"""Real IPP Everywhere printers (``ippeveprinter`` from cups-ipp-utils) for tests and
benchmarks: a D-Bus for them to find, a printer on a free loopback port that keeps
every document it receives, a small valid PDF to print and a large one generated as
it is sent."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shared.infra.kafka import free_port_range

MIB = 1 << 20
INSTALL_HINT = "run deploy/local/test (it installs cups-ipp-utils and dbus-daemon)"


class IppToolMissing(RuntimeError):
    """A program the IPP printers need is not installed."""


def ippeveprinter_path() -> str:
    """Where ``ippeveprinter`` is; IppToolMissing says how to install it otherwise."""
    path = shutil.which("ippeveprinter") or (
        "/usr/sbin/ippeveprinter" if os.path.exists("/usr/sbin/ippeveprinter") else None
    )
    if path is None:
        raise IppToolMissing(f"ippeveprinter is not installed: {INSTALL_HINT}")
    return path


@contextlib.contextmanager
def system_bus() -> Iterator[dict[str, str]]:
    """Environment giving ippeveprinter a D-Bus to find (it refuses to start without one)."""
    if os.path.exists("/run/dbus/system_bus_socket"):
        yield {}
        return
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        raise IppToolMissing(f"dbus-daemon is not installed: {INSTALL_HINT}")
    directory = Path(tempfile.mkdtemp(prefix="pc-dbus-"))
    address = f"unix:path={directory}/bus"
    proc = subprocess.Popen(
        [daemon, "--session", "--nofork", f"--address={address}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            if (directory / "bus").exists():
                break
            time.sleep(0.05)
        yield {"DBUS_SYSTEM_BUS_ADDRESS": address}
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class IppPrinterProcess:
    """A running ippeveprinter: its URI, port and the directory its jobs' documents land in."""

    uri: str
    spool: Path
    proc: subprocess.Popen[bytes]
    port: int = 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def documents(self, job_id: uuid.UUID | str) -> list[Path]:
        """The kept documents of jobs named ``job_id``."""
        return sorted(self.spool.glob(f"*-{job_id}.*"))


def start_ippeveprinter(
    env: dict[str, str], spool: Path, *, duplex: bool = True, colour: bool = True,
    formats: str = "application/pdf,image/jpeg,image/pwg-raster",
    command: str | None = None, name: str | None = None, port: int | None = None,
) -> IppPrinterProcess:  # fmt: skip
    """An IPP Everywhere printer on a free loopback port (or ``port``: a printer started
    again, or started late at an address already given out), keeping every document.

    Without ``command`` ippeveprinter pretends to print each job for a few seconds;
    with one (``/bin/true``) a job completes as soon as that command has run."""
    spool.mkdir(parents=True, exist_ok=True)
    log_path = spool.parent / f"{spool.name}.log"
    fixed = port
    for _attempt in range(1 if fixed else 5):
        port = fixed or free_port_range()
        argv = [
            ippeveprinter_path(), "-p", str(port), "-r", "off", "-k", "-d", str(spool),
            "-f", formats, "-s", "10,5" if colour else "10,0", "-m", "Test Model",
            *(["-2"] if duplex else []), *(["-c", command] if command else []),
            name or f"Printcloud Test {port}",
        ]  # fmt: skip
        with log_path.open("ab") as log:
            proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=log, stderr=log)
        for _ in range(200):
            if proc.poll() is not None:
                break
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return IppPrinterProcess(f"ipp://127.0.0.1:{port}/ipp/print", spool, proc, port)
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if "Address already in use" not in log_path.read_text(errors="replace")[-2000:]:
            break  # not a port taken in between: no point in another port
    raise RuntimeError(f"ippeveprinter exited {proc.returncode}: see {log_path}")


LARGE_PDF_WIDTH = 1024
"""The width in pixels of :func:`large_pdf`'s image: each row is 1 KiB."""


def large_pdf(bulk: int, seed: bytes = b"printcloud") -> Iterator[bytes]:
    """A valid one-page PDF carrying ``bulk`` octets (a multiple of 1 KiB), generated
    piece by piece so that no more than 1 MiB of it is ever held: the page's resources
    hold an uncompressed 8-bit DeviceGray image, ``bulk`` octets of pseudo-random pixels
    1,024 wide (never drawn), and the cross-reference table comes at the end, as in any
    PDF. A PDF parser reads the document whole; its size is ``len`` of every piece."""
    if bulk <= 0 or bulk % 1024:
        raise ValueError("bulk must be a positive multiple of 1024")
    content = b"BT /F1 24 Tf 72 720 Td (Printcloud) Tj ET"
    image = (
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray"
        b" /BitsPerComponent 8 /Length %d >>\nstream\n"
        % (LARGE_PDF_WIDTH, bulk // LARGE_PDF_WIDTH, bulk)
    )
    head = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(head, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    offsets.append(len(out))
    out += b"6 0 obj\n" + image
    position = len(out)
    yield bytes(out)
    block = hashlib.sha256(seed).digest() * (MIB // 32)
    for i in range(bulk // MIB):
        yield block[:-4] + i.to_bytes(4, "big")
    if bulk % MIB:
        yield block[: bulk % MIB]
    position += bulk
    tail = bytearray(b"\nendstream\nendobj\n")
    xref = position + len(tail)
    tail += b"xref\n0 7\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    tail += b"trailer\n<< /Size 7 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    yield bytes(tail)


def minimal_pdf(text: str = "Printcloud") -> bytes:
    """A small valid one-page PDF."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
