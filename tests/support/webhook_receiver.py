"""A webhook receiver as a program of its own, for tests and the benchmark:
``python -m tests.support.webhook_receiver <port> <log file>``.

Every POST is appended to the log file as one JSON line (path, headers, body, the time it
arrived) before it is answered 204; ``/redirect/...`` answers 302 to a cloud metadata
address instead, and ``/slow/...`` answers only after 30 seconds. The receiver verifies
nothing: the tests do, with the Standard Webhooks library's own verifier.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from aiohttp import web

METADATA_URL = "http://169.254.169.254/latest/meta-data/"
SLOW_S = 30.0


def app(log: TextIO) -> web.Application:
    """The receiver's routes."""

    async def receive(request: web.Request) -> web.Response:
        body = await request.text()
        line = {"path": request.path, "headers": dict(request.headers), "body": body,
                "at": time.time()}  # fmt: skip
        log.write(json.dumps(line) + "\n")
        log.flush()
        if request.path.startswith("/redirect"):
            raise web.HTTPFound(METADATA_URL)
        if request.path.startswith("/slow"):
            await asyncio.sleep(SLOW_S)
        return web.Response(status=204)

    application = web.Application()
    application.router.add_post("/{tail:.*}", receive)
    return application


def main() -> None:
    """Serve on 127.0.0.1:<port> until killed."""
    port, path = int(sys.argv[1]), Path(sys.argv[2])
    with path.open("a", encoding="utf-8") as log:
        web.run_app(app(log), host="127.0.0.1", port=port, print=None, shutdown_timeout=0.5)


if __name__ == "__main__":
    main()
