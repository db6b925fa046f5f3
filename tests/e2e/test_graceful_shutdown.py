"""SIGTERM the producing and the consuming service processes, again and again, while
events flow: each turns /readyz to 503 during its shutdown grace, exits 0 in time
and, once restarted, carries on. At the end every event is applied exactly once,
in order per key, and the outbox is empty."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from shared.infra.processes import ServiceProcess
from shared.testing.fixtures import ServiceDbFactory, unique
from shared.testing.infra import TestInfra
from tests.support.ledger.harness import HERE, LedgerPair, exactly_once

pytestmark = pytest.mark.e2e

EVENTS = 4000
STOPS_EACH = 3
GRACE_S = 1.0
HTTP_DRAIN_S = 20  # shared/service.py: in-flight requests get this long after the grace
PER_TRANSACTION = 5


def _readyz(port: int) -> int | None:
    """/readyz's status, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=0.5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return None


def _terminate_and_watch(victim: ServiceProcess) -> tuple[list[int | None], int, float]:
    """SIGTERM, poll /readyz until the process is gone; (statuses seen, exit code, seconds)."""
    assert victim.proc is not None and victim.http_port is not None
    assert _readyz(victim.http_port) == 200, f"{victim.name} should be ready before SIGTERM"
    started = time.monotonic()
    victim.proc.send_signal(signal.SIGTERM)
    seen: list[int | None] = []
    deadline = started + GRACE_S + HTTP_DRAIN_S
    while victim.proc.poll() is None and time.monotonic() < deadline:
        seen.append(_readyz(victim.http_port))
        time.sleep(0.05)
    try:
        code = victim.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        victim.proc.kill()
        victim.proc.wait(10)
        code = -9
    return seen, code, time.monotonic() - started


def _log_lines(path: Path) -> list[dict[str, object]]:
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


async def test_sigterm_producer_and_consumer_repeatedly_drains_cleanly(
    infra: TestInfra, service_db: ServiceDbFactory, tmp_path: Path
) -> None:
    source = await service_db(unique("ledger_source"), HERE / "source_migrations")
    sink = await service_db(unique("ledger_sink"), HERE / "sink_migrations")
    common = {"shutdown_grace_s": str(GRACE_S), "log_level": "INFO"}
    pair = LedgerPair(
        source.dsn,
        sink.dsn,
        source.name,
        sink.name,
        infra.bootstrap,
        unique("test.ledger"),
        tmp_path,
        source_env={
            "target": str(EVENTS),
            "keys": "20",
            "rate": "100",
            "per_transaction": str(PER_TRANSACTION),
            **common,
        },
        sink_env=common,
    )
    await pair.create_topic()
    rng = random.Random()
    stops: list[tuple[str, list[int | None], int, float]] = []
    unsent_after_source_stops: list[int] = []
    try:
        pair.sink.start()
        pair.source.start()
        await asyncio.to_thread(pair.sink.wait_ready)
        await asyncio.to_thread(pair.source.wait_ready)
        victims = [pair.source, pair.sink] * STOPS_EACH
        rng.shuffle(victims)
        for victim in victims:
            await asyncio.sleep(rng.uniform(0.3, 1.0))
            seen, code, took = await asyncio.to_thread(_terminate_and_watch, victim)
            stops.append((victim.name, seen, code, took))
            if victim is pair.source:
                unsent_after_source_stops.append((await pair.counts())["unsent"])
            victim.start()
            await asyncio.to_thread(victim.wait_ready)
        progress_at_last_stop = (await pair.counts())["applied"]

        async with asyncio.timeout(90):
            while True:
                counts = await pair.counts()
                if (
                    counts["emitted"] == EVENTS
                    and counts["distinct_applied"] == EVENTS
                    and counts["unsent"] == 0
                ):
                    break
                await asyncio.sleep(0.5)
        await asyncio.sleep(1)  # anything still in flight would land now
        counts = await pair.counts()
        missing, extra = await pair.missing_or_extra()
    finally:
        pair.stop()
    summary = [(name, code, round(took, 2), seen.count(503)) for name, seen, code, took in stops]
    print(f"stops={summary} applied_at_last_stop={progress_at_last_stop} counts={counts}")

    assert [s[0] for s in stops].count("source") == STOPS_EACH
    assert [s[0] for s in stops].count("sink") == STOPS_EACH
    for name, seen, code, took in stops:
        assert 503 in seen, f"{name}: /readyz never answered 503 during the grace ({seen})"
        first_503 = seen.index(503)
        assert 200 not in seen[first_503:], f"{name}: ready again while shutting down ({seen})"
        assert code == 0, f"{name} exited with {code}"
        assert took < GRACE_S + HTTP_DRAIN_S, f"{name} took {took:.1f} s to stop"
        assert took >= GRACE_S * 0.9, f"{name} stopped before its grace ({took:.2f} s)"
    assert progress_at_last_stop < EVENTS, "the stops should land while events still flow"
    # The active relay publishes what is committed before it lets go: at most the
    # generator's last transaction (committed while the relay flushed) is left.
    assert all(n <= PER_TRANSACTION for n in unsent_after_source_stops), unsent_after_source_stops
    assert counts == exactly_once(EVENTS)
    assert (missing, extra) == (set(), set())
    for proc in (pair.source, pair.sink):
        assert proc.proc is not None and proc.proc.returncode == 0
        events = [str(line.get("event", "")) for line in _log_lines(proc.log_file)]
        assert events.count("service stopped") >= STOPS_EACH + 1, f"{proc.name}: {proc.log_tail()}"
        assert not any("did not stop in time" in e for e in events), proc.log_tail()
        assert not any("flush timed out" in e for e in events), proc.log_tail()
