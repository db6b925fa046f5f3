"""A real CUPS scheduler (Debian's ``cupsd``) for tests: its own directory (config,
spool, logs) and loopback port, started in the foreground and stopped after."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shared.infra.kafka import free_port_range

CUPSD = shutil.which("cupsd") or "/usr/sbin/cupsd"

_CUPSD_CONF = """\
Listen 127.0.0.1:{port}
LogLevel debug
WebInterface No
Browsing Off
DefaultAuthType None
MaxJobs 100
PreserveJobHistory Yes
<Location />
  Order allow,deny
  Allow all
</Location>
<Location /admin>
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
    Allow all
  </Limit>
</Policy>
"""

_FILES_CONF = """\
ServerRoot {root}
RequestRoot {root}/spool
TempDir {root}/tmp
CacheDir {root}/cache
StateDir {root}/state
AccessLog {root}/log/access_log
ErrorLog {root}/log/error_log
PageLog {root}/log/page_log
ServerBin /usr/lib/cups
DataDir /usr/share/cups
DocumentRoot /usr/share/cups/doc-root
FileDevice Yes
User lp
Group lp
SystemGroup root
"""


@dataclass
class Cups:
    """A running scheduler: where it listens and its logs."""

    root: Path
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        """The environment that points CUPS' commands (lp, lpadmin, lpstat) at it."""
        return {**os.environ, "CUPS_SERVER": self.server, "CUPS_USER": "root"}

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(argv), env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip

    def error_log(self) -> str:
        path = self.root / "log" / "error_log"
        return path.read_text(errors="replace")[-20000:] if path.exists() else ""


@contextlib.contextmanager
def running_cups() -> Iterator[Cups]:
    """cupsd on a free loopback port in a fresh directory (readable by the lp user,
    which runs its filters and backends)."""
    root = Path(tempfile.mkdtemp(prefix="printcloud-cups-"))
    root.chmod(0o755)
    for sub in ("spool", "tmp", "cache", "state", "log", "ppd", "ssl"):
        (root / sub).mkdir()
        shutil.chown(root / sub, "lp", "lp")
    (root / "spool").chmod(0o710)
    port = free_port_range()
    (root / "cupsd.conf").write_text(_CUPSD_CONF.format(port=port))
    (root / "cups-files.conf").write_text(_FILES_CONF.format(root=root))
    proc = subprocess.Popen(
        [CUPSD, "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")],
        stdout=subprocess.DEVNULL, stderr=(root / "log" / "stderr").open("wb"),
    )  # fmt: skip
    cups = Cups(root, port, proc)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"cupsd exited:\n{cups.error_log()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"cupsd did not listen:\n{cups.error_log()}")
        yield cups
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)
