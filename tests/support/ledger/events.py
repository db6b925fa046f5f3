"""The one event the ledger pair exchanges."""

from __future__ import annotations

import os
from typing import ClassVar

from pydantic import Field

from shared.events.envelope import EventData
from shared.kafka.topics import TopicSpec

TOPIC = os.environ.get("LEDGER_TOPIC", "test.ledger")
TOPIC_SPEC = TopicSpec(name=TOPIC, owner="ledger", key="key", description="test", partitions=6)


class EntryRecorded(EventData):
    """Entry ``seq`` of ``key`` was recorded."""

    event_type: ClassVar[str] = "ledger.entry.recorded"
    event_version: ClassVar[int] = 1
    topic: ClassVar[str] = TOPIC

    key: str = Field(min_length=1)
    seq: int = Field(ge=1)
    pad: str = ""

    def partition_key(self) -> str:
        return self.key
