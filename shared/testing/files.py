"""A device's file endpoint for tests: a small HTTP server that takes files the way a
connector sends them (``PUT /files/{delivery_id}?purpose=&name=``, ``HEAD
/files/{delivery_id}``), keeps each under ``<spool>/<purpose>/<name>`` and logs every
upload it accepted in ``<spool>/received.log`` (one line each, so a file sent twice
shows twice). Run it as its own process (``python -m shared.testing.files``) with
:func:`start_file_endpoint`, so a test can stop it and start it again.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from shared.infra.kafka import free_port_range

_PLAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def _plain(name: str) -> bool:
    return bool(name) and name not in (".", "..") and set(name) <= _PLAIN


def endpoint_app(spool: Path, delay: float = 0.0) -> web.Application:
    """The endpoint's app: files land in ``spool``; each answer to an upload comes
    ``delay`` seconds after the file is kept (a slow device)."""
    received = spool / ".received"
    received.mkdir(parents=True, exist_ok=True)

    async def has(request: web.Request) -> web.Response:
        delivery = request.match_info["delivery_id"]
        return web.Response(status=200 if _plain(delivery) and (received / delivery).exists()
                            else 404)  # fmt: skip

    async def take(request: web.Request) -> web.Response:
        delivery = request.match_info["delivery_id"]
        purpose, name = request.query.get("purpose", ""), request.query.get("name", "")
        if not all(_plain(v) for v in (delivery, purpose, name)):
            return web.Response(status=400, text="delivery id, purpose and name must be plain")
        body = await request.read()
        folder = spool / purpose
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{name}.{delivery}"
        partial.write_bytes(body)
        os.replace(partial, folder / name)
        (received / delivery).touch()
        with (spool / "received.log").open("a") as log:
            log.write(f"{delivery} {purpose} {name} {len(body)}\n")
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=201)

    app = web.Application(client_max_size=64 << 20)
    app.router.add_route("HEAD", "/files/{delivery_id}", has)
    app.router.add_get("/files/{delivery_id}", has, allow_head=False)
    app.router.add_put("/files/{delivery_id}", take)
    return app


@dataclass
class FileEndpoint:
    """A running file endpoint process: where a connector sends files, and what came."""

    spool: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}/files"

    def start(self, delay: float = 0.0) -> None:
        """Start (or start again, on the same port) the endpoint process."""
        log = (self.spool.parent / f"{self.spool.name}-files.log").open("ab")
        argv = [sys.executable, "-m", "shared.testing.files", "--port", str(self.port),
                "--spool", str(self.spool), "--delay", str(delay)]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=log, stderr=log)
        log.close()
        for _ in range(400):
            if self.proc.poll() is not None:
                raise RuntimeError(f"the file endpoint exited {self.proc.returncode}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("the file endpoint did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def received(self) -> list[tuple[str, str, str]]:
        """(delivery id, purpose, name) of every upload taken, in order."""
        path = self.spool / "received.log"
        if not path.exists():
            return []
        return [tuple(line.split()[:3]) for line in path.read_text().splitlines()]  # type: ignore[misc]


def file_endpoint(spool: Path) -> FileEndpoint:
    """A file endpoint on a free loopback port, not started yet."""
    spool.mkdir(parents=True, exist_ok=True)
    return FileEndpoint(spool, free_port_range())


def main() -> None:
    """``python -m shared.testing.files --port N --spool DIR [--delay S]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--spool", type=Path, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    web.run_app(endpoint_app(args.spool, args.delay), host="127.0.0.1", port=args.port,
                print=None)  # fmt: skip


if __name__ == "__main__":
    main()
