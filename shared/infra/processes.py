"""Service processes started from Python: the local platform, e2e tests, chaos runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ServiceProcess:
    """One ``python -m <module>`` process with its own environment and log file."""

    name: str
    module: str
    env: dict[str, str]
    log_file: Path
    http_port: int | None = None
    args: list[str] = field(default_factory=list)
    ready_path: str = "/readyz"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _stop_requested: bool = field(default=False, repr=False)

    def start(self) -> None:
        """Spawn the process (its output appended to ``log_file``)."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        self._stop_requested = False
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def is_running(self) -> bool:
        """True while the process has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout: float = 60) -> None:
        """Block until GET ``ready_path`` (/readyz) answers 200; RuntimeError with the
        log tail otherwise."""
        if self.http_port is None:
            return
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.http_port}{self.ready_path}"
        while time.monotonic() < deadline:
            if not self.is_running():
                raise RuntimeError(f"{self.name} exited during start-up:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready after {timeout}s:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.is_running():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def request_stop(self) -> None:
        """SIGTERM, without waiting (``terminate`` then waits)."""
        if self.is_running():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            self._stop_requested = True

    def terminate(self, timeout: float = 40) -> int | None:
        """SIGTERM (unless ``request_stop`` sent it) and wait for the graceful
        shutdown; SIGKILL if it overruns."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            if not self._stop_requested:
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the process's log."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
