"""``python -m tests.support.ledger.sink``: applies ledger events, checks per-key order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
from pydantic_settings import SettingsConfigDict

from shared.events.registry import DecodedEvent, EventRegistry
from shared.service import ConsumerSpec, Runtime, ServiceSpec, main
from shared.settings import ServiceSettings
from tests.support.ledger.events import TOPIC, EntryRecorded


class SinkSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_LEDGER_SINK_", extra="ignore")


async def apply_entries(conn: asyncpg.Connection, events: list[DecodedEvent[Any]]) -> None:
    """Record a run of entries; a seq that is not the key's previous + 1 is a violation."""
    entries: list[tuple[Any, EntryRecorded]] = [(e.envelope.event_id, e.data) for e in events]
    keys = sorted({d.key for _, d in entries})
    rows = await conn.fetch(
        "SELECT key, seq FROM heads WHERE key = ANY($1::text[]) FOR UPDATE", keys
    )
    heads = {r["key"]: r["seq"] for r in rows}
    violations = []
    for event_id, d in entries:
        expected = heads.get(d.key, 0) + 1
        if d.seq != expected:
            violations.append((event_id, d.key, expected, d.seq))
        heads[d.key] = d.seq
    await conn.execute(
        "INSERT INTO heads SELECT * FROM unnest($1::text[], $2::int[]) "
        "ON CONFLICT (key) DO UPDATE SET seq = excluded.seq",
        list(heads),
        list(heads.values()),
    )
    await conn.execute(
        "INSERT INTO applied (event_id, key, seq) "
        "SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[])",
        [i for i, _ in entries],
        [d.key for _, d in entries],
        [d.seq for _, d in entries],
    )
    if violations:
        await conn.executemany("INSERT INTO violations VALUES ($1, $2, $3, $4)", violations)


def _consumers(rt: Runtime) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(rt.schema, [TOPIC], batch_handlers={EntryRecorded.event_type: apply_entries})
    ]


SPEC = ServiceSpec(
    name="ledger_sink",
    settings_cls=SinkSettings,
    registry=EventRegistry([EntryRecorded]),
    migrations_dir=Path(__file__).parent / "sink_migrations",
    consumers=_consumers,
)

if __name__ == "__main__":
    main(SPEC)
