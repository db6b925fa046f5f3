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


async def apply_entry(conn: asyncpg.Connection, event: DecodedEvent[Any]) -> None:
    """Record the entry; a seq that is not the key's previous + 1 is a violation."""
    data: EntryRecorded = event.data
    previous = await conn.fetchval("SELECT seq FROM heads WHERE key = $1 FOR UPDATE", data.key)
    expected = (previous or 0) + 1
    if data.seq != expected:
        await conn.execute(
            "INSERT INTO violations VALUES ($1, $2, $3, $4)",
            event.envelope.event_id,
            data.key,
            expected,
            data.seq,
        )
    await conn.execute(
        "INSERT INTO heads VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET seq = $2",
        data.key,
        data.seq,
    )
    await conn.execute(
        "INSERT INTO applied (event_id, key, seq) VALUES ($1, $2, $3)",
        event.envelope.event_id,
        data.key,
        data.seq,
    )


def _consumers(rt: Runtime) -> list[ConsumerSpec]:
    return [ConsumerSpec(rt.schema, [TOPIC], {EntryRecorded.event_type: apply_entry})]


SPEC = ServiceSpec(
    name="ledger_sink",
    settings_cls=SinkSettings,
    registry=EventRegistry([EntryRecorded]),
    migrations_dir=Path(__file__).parent / "sink_migrations",
    consumers=_consumers,
)

if __name__ == "__main__":
    main(SPEC)
