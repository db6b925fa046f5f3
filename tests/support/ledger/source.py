"""``python -m tests.support.ledger.source``: emits TARGET events over KEYS keys."""

from __future__ import annotations

import asyncio
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
                events = []
                for key in sorted(random.choices(range(s.keys), k=count)):
                    seq = await conn.fetchval(
                        "INSERT INTO keys VALUES ($1, 1) ON CONFLICT (key) "
                        "DO UPDATE SET seq = keys.seq + 1 RETURNING seq",
                        f"k{key}",
                    )
                    data = EntryRecorded(key=f"k{key}", seq=seq, pad="x" * s.pad_bytes)
                    events.append(
                        (data.topic, new_envelope(data, source=rt.schema, tenant_id=None))
                    )
                await add_events(conn, rt.schema, events)
                await conn.executemany(
                    "INSERT INTO emitted VALUES ($1, $2, $3)",
                    [(e.event_id, e.key, e.data["seq"]) for _, e in events],
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
