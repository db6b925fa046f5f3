"""Kill -9 the producing and the consuming service processes while events flow;
at the end every event is applied exactly once, in order per key, and nothing is
left unsent."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from shared.testing.fixtures import ServiceDbFactory, unique
from shared.testing.infra import TestInfra
from tests.support.ledger.harness import HERE, LedgerPair, exactly_once

pytestmark = pytest.mark.e2e

EVENTS = 1500
KILLS_EACH = 4


async def test_sigkill_producer_and_consumer_repeatedly_loses_and_doubles_nothing(
    infra: TestInfra, service_db: ServiceDbFactory, tmp_path: Path
) -> None:
    source = await service_db(unique("ledger_source"), HERE / "source_migrations")
    sink = await service_db(unique("ledger_sink"), HERE / "sink_migrations")
    pair = LedgerPair(
        source.dsn,
        sink.dsn,
        source.name,
        sink.name,
        infra.bootstrap,
        unique("test.ledger"),
        tmp_path,
        source_env={"target": str(EVENTS), "keys": "20", "rate": "200", "per_transaction": "5"},
    )
    await pair.create_topic()
    rng = random.Random()
    try:
        pair.sink.start()
        pair.source.start()
        pair.sink.wait_ready()
        pair.source.wait_ready()
        victims = [pair.source, pair.sink] * KILLS_EACH
        rng.shuffle(victims)
        kills: list[str] = []
        for victim in victims:
            await asyncio.sleep(rng.uniform(0.3, 1.5))
            victim.kill()
            kills.append(victim.name)
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            victim.start()
        progress_at_last_kill = (await pair.counts())["applied"]

        async with asyncio.timeout(180):
            while True:
                counts = await pair.counts()
                if counts["emitted"] == EVENTS and counts["distinct_applied"] == EVENTS:
                    break
                await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # let any duplicate that is still in flight land
        counts = await pair.counts()
        missing, extra = await pair.missing_or_extra()
    finally:
        pair.stop()
    print(f"kills={kills} applied_at_last_kill={progress_at_last_kill} counts={counts}")
    assert kills.count("source") == KILLS_EACH and kills.count("sink") == KILLS_EACH
    assert progress_at_last_kill < EVENTS, "the kills should land while events still flow"
    assert counts == exactly_once(EVENTS)
    assert (missing, extra) == (set(), set())
    assert pair.source.proc is not None and pair.source.proc.returncode == 0
    assert pair.sink.proc is not None and pair.sink.proc.returncode == 0
