"""Usage roll-ups: a faust-streaming worker, a process of its own.

``python -m services.counters.streams worker`` reads ``job.completed`` straight
from ``queues.jobs`` (decoded with the shared envelope and registry), moves
each one to an internal topic keyed by tenant, and there adds it to windowed
tables (changelogged in Kafka, so a restarted worker recovers them):

- tumbling **hour** and **day** windows, per tenant, per user and per printer;
- **month**: faust windows have a fixed size and months do not, so a month's
  totals are the sum of its day windows (day windows are kept long enough).

Time is the event's own ``at``. Events may arrive late and out of order: an
event not older than the newest seen on its partition minus the allowed
lateness updates its windows, and every window it changed is published again
on ``counters.usage`` (``usage.rolled_up``, the window's new totals). An older
event is parked on the dead-letter topic. A repeated event (same ``event_id``)
is counted once.

Failures: a message the worker cannot apply is parked on the dead-letter topic
(shared headers) and counted, and only then acknowledged; while parking itself
fails, the worker retries and does not move on. Delivery is at least once; the
``seen`` table makes a redelivered event change nothing.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import faust
from prometheus_client import Counter, start_http_server

from services.counters.domain.events import UsageRolledUp
from services.counters.domain.model import window_of
from services.counters.settings import RollupSettings
from shared.events.contracts import jobs
from shared.events.contracts.jobs import JobCompleted
from shared.events.envelope import new_envelope
from shared.events.registry import EventDecodeError, EventRegistry
from shared.kafka.access import SASL_MECHANISM, KafkaAccess
from shared.kafka.deadletter import dead_letter_headers
from shared.kafka.topics import DEAD_LETTER_TOPIC
from shared.logging import configure_logging, get_logger

log = get_logger(__name__)
HOUR_S = 3600
DAY_S = 86_400

EVENTS = Counter(
    "printcloud_rollup_events_total",
    "job.completed events seen by the roll-up worker, by outcome "
    "(applied, duplicate, too_late, dead_lettered).",
    ["outcome"],
)
DEAD_LETTERED = Counter(
    "printcloud_rollup_dead_lettered_total",
    "Messages the roll-up worker parked on the dead-letter topic.",
    ["stage"],
)


class Completed(faust.Record, serializer="json"):
    """A job.completed as the roll-up tables need it (keyed by tenant)."""

    event_id: str
    correlation_id: str
    tenant_id: str
    user_id: str
    printer_id: str
    at: float
    pages: int
    colour_pages: int
    sheets: int = 0
    duplex_sheets: int = 0
    origin: str = ""
    """topic/partition/offset of the original event, for the dead-letter headers."""
    raw: str = ""
    """The original message, parked unchanged if this record cannot be applied."""
    raw_key: str = ""

    def where(self) -> tuple[str, int, int]:
        """The original event's topic, partition and offset."""
        topic, partition, offset = [*self.origin.split("/"), "", "-1", "-1"][:3]
        return topic, int(partition), int(offset)


class Totals(faust.Record, serializer="json"):
    """A window's totals."""

    pages: int = 0
    colour_pages: int = 0
    jobs: int = 0
    sheets: int = 0
    duplex_sheets: int = 0

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.pages + other.pages, self.colour_pages + other.colour_pages,
            self.jobs + other.jobs, self.sheets + other.sheets,
            self.duplex_sheets + other.duplex_sheets,
        )  # fmt: skip


def dimensions(c: Completed) -> list[tuple[str, str]]:
    """(dimension, subject) a job counts for."""
    return [("tenant", c.tenant_id), ("user", c.user_id), ("printer", c.printer_id)]


def completed_of(event: JobCompleted, envelope: Any, msg: Any) -> Completed:
    """The roll-up record of a decoded job.completed."""
    return Completed(
        event_id=str(envelope.event_id),
        correlation_id=str(envelope.correlation_id),
        tenant_id=str(event.tenant_id),
        user_id=str(event.owner_id),
        printer_id=str(event.printer_id),
        at=event.at.timestamp(),
        pages=event.printed_pages,
        colour_pages=event.colour_pages,
        sheets=event.sheets,
        duplex_sheets=0 if event.sides == "one-sided" else event.sheets,
        origin=f"{msg.topic}/{msg.partition}/{msg.offset}",
        raw=(msg.value or b"").decode(),
        raw_key=(msg.key or b"").decode(),
    )


def rolled_up(
    c: Completed, granularity: str, dimension: str, subject: str, totals: Totals
) -> UsageRolledUp:
    """The usage.rolled_up of one window after ``c`` changed it."""
    start, end = window_of(granularity, datetime.fromtimestamp(c.at, UTC))
    return UsageRolledUp(
        tenant_id=uuid.UUID(c.tenant_id), granularity=granularity,
        window_start=start, window_end=end, dimension=dimension,
        subject_id=uuid.UUID(subject), pages=totals.pages, colour_pages=totals.colour_pages,
        jobs=totals.jobs, sheets=totals.sheets, duplex_sheets=totals.duplex_sheets,
    )  # fmt: skip


AT = cast(Any, Completed).at
"""The record's ``at`` field (a field descriptor on the class): the windows' event time."""


def _credentials(kafka: KafkaAccess) -> faust.SASLCredentials | None:
    """The worker's Kafka identity in faust's terms (None: plaintext, no credentials)."""
    if not kafka.username:
        return None
    return faust.SASLCredentials(
        username=kafka.username,
        password=kafka.password,
        ssl_context=kafka.ssl_context(),
        mechanism=SASL_MECHANISM,
    )


class Rollups:
    """The faust app, its topics, tables and agents."""

    def __init__(self, settings: RollupSettings) -> None:
        self.settings = settings
        self.registry = EventRegistry(jobs.EVENTS)
        s = settings
        self.app = faust.App(
            s.rollup_app_id,
            broker=[f"kafka://{h.strip()}" for h in s.kafka_bootstrap.split(",")],
            broker_credentials=_credentials(s.kafka()),
            store="memory://",
            datadir=s.rollup_data_dir or tempfile.mkdtemp(prefix="printcloud-rollups-"),
            topic_partitions=s.rollup_partitions,
            topic_replication_factor=s.rollup_replication,
            processing_guarantee="at_least_once",
            web_enabled=False,
            producer_acks=-1,
            consumer_auto_offset_reset="earliest",
        )
        app = self.app
        self.source = app.topic(
            JobCompleted.topic, key_serializer="raw", value_serializer="raw", internal=False
        )
        self.completed = app.topic(
            f"{s.rollup_app_id}-completed", key_type=str, value_type=Completed, internal=True,
            partitions=s.rollup_partitions,
        )  # fmt: skip
        self.usage = app.topic(UsageRolledUp.topic, key_serializer="raw", value_serializer="raw")
        self.dead = app.topic(DEAD_LETTER_TOPIC, key_serializer="raw", value_serializer="raw")
        keep = timedelta(seconds=s.rollup_allowed_lateness_s)
        self.hourly = (
            app.Table("usage-hourly", default=Totals, value_type=Totals)
            .tumbling(HOUR_S, expires=keep + timedelta(hours=2))
            .relative_to_field(AT)
        )
        # Day windows outlive a month plus the lateness: months are summed from them.
        self.daily = (
            app.Table("usage-daily", default=Totals, value_type=Totals)
            .tumbling(DAY_S, expires=keep + timedelta(days=32))
            .relative_to_field(AT)
        )
        # int, not bool: faust decodes a changelog value only as int, float, str,
        # bytes or a Record, so a bool table could not be restored after a restart.
        self.seen = (
            app.Table("seen-event-ids", default=int, value_type=int)
            .tumbling(DAY_S, expires=keep + timedelta(days=2))
            .relative_to_field(AT)
        )
        self.watermarks = app.Table("watermarks", default=float, value_type=float)
        app.agent(self.source, name="decode")(self.decode)
        app.agent(self.completed, name="rollup")(self.rollup)

    # ---------------------------------------------------------------- parking

    async def park(
        self, *, value: bytes | None, key: bytes | None, headers: Any, reason: str, stage: str,
        topic: str, partition: int, offset: int,
    ) -> None:  # fmt: skip
        """Put a message on the dead-letter topic; retry until the broker has it."""
        hdrs = dead_letter_headers(
            list(headers or ()), reason=reason, consumer=self.settings.rollup_app_id,
            topic=topic, partition=partition, offset=offset,
        )  # fmt: skip
        delay = 0.2
        while True:
            try:
                fut = await self.dead.send(key=key, value=value, headers=hdrs)
                await fut
                break
            except Exception as exc:  # the message is not acknowledged until parked
                log.warning("parking failed, retrying", error=repr(exc), stage=stage)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15)
        DEAD_LETTERED.labels(stage).inc()
        log.warning("message dead-lettered", stage=stage, reason=reason, topic=topic)

    async def _park_original(self, c: Completed, reason: str, stage: str) -> None:
        topic, partition, offset = c.where()
        await self.park(
            value=c.raw.encode(), key=c.raw_key.encode(), headers=(), reason=reason, stage=stage,
            topic=topic, partition=partition, offset=offset,
        )  # fmt: skip

    async def _retrying(self, what: str, make: Any) -> Any:
        delay = 0.2
        while True:
            try:
                return await make()
            except Exception as exc:
                log.warning("send failed, retrying", what=what, error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 15)

    # ---------------------------------------------------------------- agents

    async def decode(self, stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        """queues.jobs -> job.completed records keyed by tenant."""
        known = {m.event_type for m in self.registry.models()}
        async for event in stream.events():
            msg = event.message
            try:
                envelope = self.registry.decode_envelope(msg.value)
                if envelope.type != JobCompleted.event_type and envelope.type in known:
                    yield None  # another step of a job's life: not usage
                    continue
                decoded = self.registry.parse(envelope)
                record = completed_of(cast(JobCompleted, decoded.data), envelope, msg)
            except EventDecodeError as exc:
                await self.park(
                    value=msg.value, key=msg.key, headers=msg.headers, reason=exc.reason,
                    stage="decode", topic=msg.topic, partition=msg.partition, offset=msg.offset,
                )  # fmt: skip
                EVENTS.labels("dead_lettered").inc()
                yield None
                continue
            fut = await self._retrying(
                "completed",
                lambda r=record: self.completed.send(key=r.tenant_id, value=r),
            )
            await fut
            yield None

    async def rollup(self, stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        """Windowed totals per tenant, user and printer; publish every window changed."""
        lateness = self.settings.rollup_allowed_lateness_s
        async for event in stream.events():
            c: Completed = event.value
            try:
                await self._apply(event, c, lateness)
            except Exception as exc:
                log.exception("roll-up failed; parking the event")
                await self._park_original(c, f"roll-up error: {exc!r}", "rollup")
                EVENTS.labels("dead_lettered").inc()
            yield None

    async def _apply(self, event: Any, c: Completed, lateness: float) -> None:
        if self.seen[c.event_id].value():
            EVENTS.labels("duplicate").inc()
            return
        mark = f"partition-{event.message.partition}"
        newest = self.watermarks[mark]
        if c.at < newest - lateness:
            behind = timedelta(seconds=newest - c.at)
            allowed = timedelta(seconds=lateness)
            reason = (
                f"too late for its windows: {behind} behind the newest event ({allowed} allowed)"
            )
            await self._park_original(c, reason, "late")
            EVENTS.labels("too_late").inc()
            return
        if c.at > newest:
            self.watermarks[mark] = c.at
        add = Totals(c.pages, c.colour_pages, 1, c.sheets, c.duplex_sheets)
        out: list[UsageRolledUp] = []
        for dimension, subject in dimensions(c):
            key = f"{c.tenant_id}/{dimension}/{subject}"
            self.hourly[key] += add
            self.daily[key] += add
            out.append(rolled_up(c, "hour", dimension, subject, self.hourly[key].value()))
            out.append(rolled_up(c, "day", dimension, subject, self.daily[key].value()))
            out.append(rolled_up(c, "month", dimension, subject, self._month(key, c.at)))
        self.seen[c.event_id] = 1
        futures = []
        for u in out:
            env = new_envelope(
                u, source="counters", tenant_id=u.tenant_id,
                correlation_id=uuid.UUID(c.correlation_id), causation_id=uuid.UUID(c.event_id),
            )  # fmt: skip
            futures.append(
                await self._retrying(
                    "usage",
                    lambda e=env: self.usage.send(
                        key=e.key.encode(), value=e.to_bytes(), headers=e.kafka_headers()
                    ),
                )
            )
        await asyncio.gather(*futures)
        EVENTS.labels("applied").inc()

    def _month(self, key: str, at: float) -> Totals:
        """A month's totals: the sum of its day windows."""
        start, end = window_of("month", datetime.fromtimestamp(at, UTC))
        table = self.daily.table
        assert table.window is not None
        total = Totals()
        day = start
        while day < end:
            window = (key, table.window.current(day.timestamp()))
            if window in table:
                total = total + table[window]
            day += timedelta(days=1)
        return total


WEB_OPTIONS = ("--with-web", "--without-web", "--web-port", "-p", "--web-bind", "-b")


def worker_argv(settings: RollupSettings, argv: list[str]) -> list[str]:
    """The command line with faust's web server as the settings say.

    faust's ``worker`` command opens a web server of its own on ``0.0.0.0:6066``
    unless told otherwise: every interface and a fixed port (a second worker on the
    machine cannot start). Off unless ``rollup_web_port`` is set, then on
    ``http_host`` (loopback by default); web options given on the command line win."""
    if len(argv) < 2 or argv[1] != "worker":
        return argv
    if any(a.split("=", 1)[0] in WEB_OPTIONS for a in argv[2:]):
        return argv
    if not settings.rollup_web_port:
        return [*argv, "--without-web"]
    port, host = str(settings.rollup_web_port), settings.http_host
    return [*argv, "--web-bind", host, "--web-host", host, "--web-port", port]


def main() -> None:
    """``python -m services.counters.streams worker [-l info]``."""
    settings = RollupSettings()
    configure_logging("counters-rollups", settings.log_level, settings.log_json)
    if settings.rollup_metrics_port:
        start_http_server(settings.rollup_metrics_port, addr=settings.http_host)
    sys.argv = worker_argv(settings, sys.argv)
    Rollups(settings).app.main()


if __name__ == "__main__":
    main()
