"""The dead-letter topic's headers: why a message was parked, by whom, from where.

A parked message keeps its value, key and original headers; these headers are
added (replacing any ``dlq.*`` it already carried). Every parker uses this one
format: the consume loop, a faust agent, a handler parking through its outbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

PREFIX = "dlq."
REASON_MAX = 4000


def dead_letter_headers(
    original: Iterable[tuple[str, bytes]] | None,
    *,
    reason: str,
    consumer: str,
    topic: str,
    partition: int,
    offset: int,
) -> list[tuple[str, bytes]]:
    """The original headers without ``dlq.*``, then the reason and the origin."""
    headers = [(k, v) for k, v in (original or ()) if not k.startswith(PREFIX)]
    headers += [
        ("dlq.reason", reason[:REASON_MAX].encode()),
        ("dlq.consumer", consumer.encode()),
        ("dlq.topic", topic.encode()),
        ("dlq.partition", str(partition).encode()),
        ("dlq.offset", str(offset).encode()),
        ("dlq.at", datetime.now(UTC).isoformat().encode()),
    ]
    return headers
