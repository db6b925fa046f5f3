"""Where benchmark runs keep their figures, and running one on the test run's broker
and database server."""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.testing.infra import start_test_infra

RESULTS = Path(__file__).parent / "results"


def write_result(kind: str, result: Any) -> Path:
    """``result`` as ``bench/results/<kind>-<UTC time>.json``; the file written."""
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2))
    return out


async def on_test_infra(
    run: Callable[[argparse.Namespace, Any, Path], Awaitable[dict[str, Any]]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """``run(args, infra, workdir)`` on the configured broker and server (else the test
    run's own), in a temporary folder removed afterwards."""
    infra = start_test_infra()
    try:
        with tempfile.TemporaryDirectory(prefix="printcloud-bench-") as tmp:
            return await run(args, infra, Path(tmp))
    finally:
        infra.stop()
