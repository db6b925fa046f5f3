"""Starting the ledger pair as real processes, for the crash test and the benchmark."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from shared.infra.kafka import free_port
from shared.infra.processes import ServiceProcess
from shared.kafka.admin import ensure_topics
from shared.kafka.topics import TOPICS, TopicSpec
from tests.support.kafka import operator

HERE = Path(__file__).parent


def exactly_once(events: int) -> dict[str, int]:
    """The counts of a run in which every event was applied once, in order, all sent."""
    return {
        "emitted": events,
        "applied": events,
        "distinct_applied": events,
        "violations": 0,
        "unsent": 0,
        "inbox": events,
    }


@dataclass
class LedgerPair:
    """A provisioned source/sink pair and the processes running them."""

    source_dsn: str
    sink_dsn: str
    source_schema: str
    sink_schema: str
    bootstrap: str
    topic: str
    log_dir: Path
    source_env: dict[str, str] = field(default_factory=dict)
    sink_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.source = ServiceProcess(
            "source",
            "tests.support.ledger.source",
            self._env("SOURCE", self.source_dsn, self.source_schema, self.source_env),
            self.log_dir / "source.log",
            free_port(),
        )
        self.sink = ServiceProcess(
            "sink",
            "tests.support.ledger.sink",
            self._env("SINK", self.sink_dsn, self.sink_schema, self.sink_env),
            self.log_dir / "sink.log",
            free_port(),
        )
        self.source.env["PRINTCLOUD_LEDGER_SOURCE_HTTP_PORT"] = str(self.source.http_port)
        self.sink.env["PRINTCLOUD_LEDGER_SINK_HTTP_PORT"] = str(self.sink.http_port)

    def _env(self, role: str, dsn: str, schema: str, extra: dict[str, str]) -> dict[str, str]:
        prefix = f"PRINTCLOUD_LEDGER_{role}_"
        env = {
            "LEDGER_TOPIC": self.topic,
            "PYTHONPATH": os.pathsep.join([str(HERE.parents[2]), os.environ.get("PYTHONPATH", "")]),
            prefix + "DATABASE_URL": dsn,
            prefix + "DB_SCHEMA": schema,
            **operator(self.bootstrap).environment(prefix),
            prefix + "LOG_LEVEL": "WARNING",
            prefix + "SHUTDOWN_GRACE_S": "0",
            prefix + "OUTBOX_POLL_S": "1",
        }
        env.update({prefix + k.upper(): v for k, v in extra.items()})
        return env

    async def create_topic(self, partitions: int = 6) -> None:
        """The ledger's topic, and the token revocations every HTTP service follows
        before it reports ready."""
        tokens = [t for t in TOPICS if t.name == "auth.tokens"]
        await ensure_topics(
            operator(self.bootstrap),
            [TopicSpec(self.topic, "ledger", "key", "ledger", partitions), *tokens],
        )

    async def counts(self) -> dict[str, int]:
        """Emitted, applied, distinct applied, violations, unsent, inbox rows."""
        src = await asyncpg.connect(self.source_dsn)
        sink = await asyncpg.connect(self.sink_dsn)
        try:
            return {
                "emitted": await src.fetchval("SELECT count(*) FROM emitted"),
                "unsent": await src.fetchval("SELECT count(*) FROM outbox"),
                "applied": await sink.fetchval("SELECT count(*) FROM applied"),
                "distinct_applied": await sink.fetchval(
                    "SELECT count(DISTINCT event_id) FROM applied"
                ),
                "violations": await sink.fetchval("SELECT count(*) FROM violations"),
                "inbox": await sink.fetchval("SELECT count(*) FROM processed_events"),
            }
        finally:
            await src.close()
            await sink.close()

    async def missing_or_extra(self) -> tuple[set[str], set[str]]:
        """Event ids emitted but not applied, and applied but never emitted."""
        src = await asyncpg.connect(self.source_dsn)
        sink = await asyncpg.connect(self.sink_dsn)
        try:
            emitted = {str(r[0]) for r in await src.fetch("SELECT event_id FROM emitted")}
            applied = {str(r[0]) for r in await sink.fetch("SELECT event_id FROM applied")}
        finally:
            await src.close()
            await sink.close()
        return emitted - applied, applied - emitted

    def stop(self) -> None:
        for proc in (self.source, self.sink):
            proc.terminate()
