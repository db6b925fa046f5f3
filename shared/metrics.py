"""Prometheus metrics shared by every service (one default registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter(
    "printcloud_events_published_total", "Events published by the outbox relay.", ["topic"]
)
OUTBOX_BACKLOG = Gauge(
    "printcloud_outbox_backlog", "Outbox rows not yet published (last seen by the relay)."
)
OUTBOX_RELAY_ACTIVE = Gauge(
    "printcloud_outbox_relay_active", "1 when this replica holds the relay lock."
)
EVENTS_CONSUMED = Counter(
    "printcloud_events_consumed_total",
    "Messages handled by a consumer, by outcome (applied, duplicate, dead_lettered).",
    ["consumer", "topic", "outcome"],
)
DEAD_LETTERED = Counter(
    "printcloud_dead_lettered_total",
    "Messages parked on the dead-letter topic.",
    ["consumer", "topic"],
)
CONSUMER_LAG = Gauge(
    "printcloud_consumer_lag",
    "Messages behind the partition end.",
    ["consumer", "topic", "partition"],
)
HANDLER_RETRIES = Counter(
    "printcloud_consumer_retries_total",
    "Batches retried after a transient failure (database or broker unreachable).",
    ["consumer"],
)
HTTP_REQUESTS = Histogram(
    "printcloud_http_request_seconds",
    "HTTP request latency by route and status.",
    ["method", "route", "status"],
)
TASK_RESTARTS = Counter(
    "printcloud_task_restarts_total", "Background tasks restarted by the supervisor.", ["task"]
)
