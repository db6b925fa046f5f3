"""Self-check of the Docker-free local infrastructure (shared/infra/kafka.py + postgres.py).

Starts a real Kafka broker (KRaft) and a real PostgreSQL server in a temporary
directory, exercises them the way Printcloud does, SIGKILLs both and restarts them
on the same data directories, checks nothing was lost, stops them and prints timings.

    .venv/bin/python deploy/local/infra_selfcheck.py [--keep]

Exit status 0 means every check passed and no process was left running.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.infra.kafka import KafkaBroker, ensure_kafka_jars, free_port, pid_alive
from shared.infra.postgres import PostgresServer
from shared.kafka.access import KafkaAccess

T = TypeVar("T")
TIMINGS: list[tuple[str, float]] = []
MESSAGES = 300


@contextmanager
def timed(label: str) -> Iterator[None]:
    """Record how long the block took under ``label`` and print it."""
    start = time.perf_counter()
    yield
    elapsed = time.perf_counter() - start
    TIMINGS.append((label, elapsed))
    print(f"  {label:<48} {elapsed:7.2f} s", flush=True)


def check(condition: bool, what: str) -> None:
    """Fail loudly unless ``condition`` holds."""
    if not condition:
        raise SystemExit(f"SELF-CHECK FAILED: {what}")
    print(f"  ok: {what}", flush=True)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a fresh event loop."""
    return asyncio.run(coro)


def processes_mentioning(needle: str) -> list[int]:
    """PIDs whose command line mentions ``needle`` (Linux /proc)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if needle in cmdline.read_bytes().decode("utf-8", "replace"):
                found.append(int(cmdline.parent.name))
        except (OSError, ValueError):
            continue
    return found


# --------------------------------------------------------------------------- kafka


async def kafka_round_trip(access: KafkaAccess, topic: str, group: str) -> None:
    """create_topics, idempotent acks=all producer, consumer group with manual commit."""
    admin = AIOKafkaAdminClient(**access.client_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
        check(topic in await admin.list_topics(), f"topic {topic} created (3 partitions)")
    finally:
        await admin.close()

    producer = AIOKafkaProducer(**access.client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        with timed(f"produce {MESSAGES} messages (idempotent, acks=all)"):
            futures = [
                await producer.send(topic, key=f"k{i % 17}".encode(), value=f"m{i}".encode())
                for i in range(MESSAGES)
            ]
            metas = await asyncio.gather(*futures)
        check(len(metas) == MESSAGES, f"{MESSAGES} sends acknowledged")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        **access.client_options(),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    with timed("consumer group join + consume all"):
        await consumer.start()
        try:
            seen: set[bytes] = set()
            async with asyncio.timeout(60):
                while len(seen) < MESSAGES:
                    batches = await consumer.getmany(timeout_ms=1000)
                    for records in batches.values():
                        seen.update(r.value for r in records if r.value is not None)
            await consumer.commit()
            partitions = consumer.assignment()
            committed = {tp.partition: await consumer.committed(tp) for tp in partitions}
        finally:
            await consumer.stop()
    check(len(seen) == MESSAGES, f"consumed all {MESSAGES} distinct messages")
    check(
        sum(v or 0 for v in committed.values()) == MESSAGES,
        f"manual commit stored offsets {committed}",
    )


async def kafka_after_restart(access: KafkaAccess, topic: str, group: str) -> None:
    """Data and committed offsets survived the SIGKILL; the broker takes writes again."""
    consumer = AIOKafkaConsumer(**access.client_options(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(3)]
        ends = await consumer.end_offsets(tps)
        committed = [await consumer.committed(tp) or 0 for tp in tps]
    finally:
        await consumer.stop()
    check(sum(ends.values()) == MESSAGES, f"log end offsets after SIGKILL sum to {MESSAGES}")
    check(sum(committed) == MESSAGES, "committed group offsets survived SIGKILL")
    producer = AIOKafkaProducer(**access.client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"after-restart")
    finally:
        await producer.stop()
    check(True, "producing after restart works")


# --------------------------------------------------------------------------- postgres


async def pg_round_trip(dsn: str) -> None:
    """A table, a committed row, a query."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS selfcheck (id int PRIMARY KEY, v text)")
        await conn.execute("INSERT INTO selfcheck VALUES (1, 'ünïcode ✓') ON CONFLICT DO NOTHING")
        value = await conn.fetchval("SELECT v FROM selfcheck WHERE id = 1")
        settings = await conn.fetch(
            "SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[]) ORDER BY name",
            ["listen_addresses", "max_connections", "password_encryption", "shared_buffers"],
        )
    finally:
        await conn.close()
    check(value == "ünïcode ✓", "asyncpg insert/select round trip (UTF-8)")
    print("  settings:", {r["name"]: r["setting"] for r in settings})


async def pg_after_restart(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        value = await conn.fetchval("SELECT v FROM selfcheck WHERE id = 1")
    finally:
        await conn.close()
    check(value == "ünïcode ✓", "committed row survived SIGKILL")


# --------------------------------------------------------------------------- main


def main() -> int:
    """Run the self-check; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="printcloud-selfcheck-"))
    print(f"working directory: {root}")
    kafka = KafkaBroker(
        data_dir=root / "kafka",
        port=free_port(),
        controller_port=free_port(),
        log_file=root / "logs" / "kafka.log",
    )
    pg = PostgresServer(data_dir=root / "pg", port=free_port(), log_file=root / "logs" / "pg.log")
    topic, group = f"selfcheck-{uuid.uuid4().hex[:8]}", "selfcheck-group"
    pids: set[int] = set()
    try:
        print("\n[1] cold starts")
        with timed("ensure_kafka_jars (cached)"):
            ensure_kafka_jars()
        with timed("Postgres initdb + start"):
            pg.start()
        with timed("Kafka cold start (format + start, jars cached)"):
            kafka.start()
        pids |= {p for p in (kafka.pid, pg.pid) if p}
        print(f"  kafka {kafka.bootstrap} pid {kafka.pid}; postgres :{pg.port} pid {pg.pid}")

        print("\n[2] round trips")
        with timed("Postgres create_database x2 (idempotent)"):
            pg.create_database("selfcheck")
            pg.create_database("selfcheck")
        run(pg_round_trip(pg.admin_dsn("selfcheck")))
        with timed("Kafka round trip total"):
            run(kafka_round_trip(kafka.access(), topic, group))

        print("\n[3] SIGKILL + restart on the same data dirs")
        with timed("kill both"):
            kafka.kill()
            pg.kill()
        check(not kafka.is_running() and not pg.is_running(), "both dead after kill()")
        with timed("Postgres restart after SIGKILL (crash recovery)"):
            pg.start()
        with timed("Kafka restart after SIGKILL"):
            kafka.start()
        pids |= {p for p in (kafka.pid, pg.pid) if p}
        run(pg_after_restart(pg.admin_dsn("selfcheck")))
        run(kafka_after_restart(kafka.access(), topic, group))

        print("\n[4] graceful stop + warm restart")
        with timed("stop both"):
            kafka.stop()
            pg.stop()
        with timed("Postgres warm restart"):
            pg.start()
        with timed("Kafka warm restart"):
            kafka.start()
        pids |= {p for p in (kafka.pid, pg.pid) if p}
    finally:
        print("\n[5] stop")
        with timed("stop both"):
            kafka.stop()
            pg.stop()
    check(not kafka.is_running() and not pg.is_running(), "both stopped")
    leftovers = sorted({p for p in pids if pid_alive(p)} | set(processes_mentioning(str(root))))
    check(not leftovers, f"no process left running (postmaster/broker pids {sorted(pids)})")
    if args.keep:
        print(f"kept {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)

    print("\nTimings:")
    for label, seconds in TIMINGS:
        print(f"  {label:<48} {seconds:7.2f} s")
    print("\nSELF-CHECK PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
