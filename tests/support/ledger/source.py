"""``python -m tests.support.ledger.source``: emits TARGET events over KEYS keys."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import time
from pathlib import Path

from pydantic_settings import SettingsConfigDict

from shared.db.outbox import add_events
from shared.events.envelope import new_envelope
from shared.events.registry import EventRegistry
from shared.service import Runtime, ServiceSpec, main
from shared.settings import ServiceSettings
from shared.supervisor import TaskFactory
from tests.support.ledger.events import EntryRecorded


class SourceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_LEDGER_SOURCE_", extra="ignore")
    target: int = 1000
    keys: int = 50
    rate: float = 0.0  # events per second; 0 = as fast as possible
    per_transaction: int = 10
    pad_bytes: int = 0


def _generator(rt: Runtime) -> TaskFactory:
    s = rt.settings
    assert isinstance(s, SourceSettings)

    async def generate(stop: asyncio.Event) -> None:
        started, sent = time.monotonic(), 0
        while not stop.is_set():
            async with rt.pool.acquire() as conn, conn.transaction():
                count = await conn.fetchval(
                    "WITH cur AS (SELECT emitted FROM progress FOR UPDATE) "
                    "UPDATE progress p SET emitted = LEAST(cur.emitted + $1, $2) FROM cur "
                    "WHERE cur.emitted < $2 RETURNING p.emitted - cur.emitted",
                    s.per_transaction,
                    s.target,
                )
                if count is None:
                    break
                picks = collections.Counter(random.choices(range(s.keys), k=count))
                rows = await conn.fetch(
                    "INSERT INTO keys SELECT * FROM unnest($1::text[], $2::int[]) "
                    "ON CONFLICT (key) DO UPDATE SET seq = keys.seq + excluded.seq "
                    "RETURNING key, seq",
                    [f"k{k}" for k in sorted(picks)],
                    [picks[k] for k in sorted(picks)],
                )
                events = []
                for row in rows:
                    n = picks[int(row["key"][1:])]
                    for seq in range(row["seq"] - n + 1, row["seq"] + 1):
                        data = EntryRecorded(key=row["key"], seq=seq, pad="x" * s.pad_bytes)
                        env = new_envelope(data, source=rt.schema, tenant_id=None)
                        events.append((data.topic, env))
                await add_events(conn, rt.schema, events)
                await conn.execute(
                    "INSERT INTO emitted SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[])",
                    [e.event_id for _, e in events],
                    [e.key for _, e in events],
                    [e.data["seq"] for _, e in events],
                )
            sent += count
            if s.rate > 0:
                ahead = sent / s.rate - (time.monotonic() - started)
                if ahead > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), ahead)
        await stop.wait()

    return generate


SPEC = ServiceSpec(
    name="ledger_source",
    settings_cls=SourceSettings,
    registry=EventRegistry([EntryRecorded]),
    migrations_dir=Path(__file__).parent / "source_migrations",
    tasks=lambda rt: {"generator": _generator(rt)},
)

if __name__ == "__main__":
    main(SPEC)
