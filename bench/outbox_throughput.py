"""Events per second through outbox -> relay -> Kafka -> consumer with inbox.

Real processes on this machine: a Kafka broker, a Postgres server, a producing
service process (outbox + relay) and a consuming service process (inbox +
handler writing its own table). Two modes:

* ``drain``: the outbox is filled first, then the producing service starts;
  measures relay + Kafka + consumer alone.
* ``live``: the producing service writes its business rows and outbox rows in
  transactions of ``--per-transaction`` events while everything flows; measures
  the whole path from the business transaction to the consumer's commit.

Example: ``python -m bench.outbox_throughput --events 20000 --relay-batch 100,500``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.results import write_result
from shared.db.outbox import add_events
from shared.events.envelope import new_envelope
from shared.infra.database import create_database, prepare_service, with_database
from shared.testing.infra import start_test_infra
from tests.support.ledger.events import EntryRecorded
from tests.support.ledger.harness import HERE, LedgerPair


async def _prefill(dsn: str, schema: str, topic: str, events: int, keys: int, pad: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        seq: dict[str, int] = {}
        for start in range(0, events, 1000):
            batch = []
            for i in range(start, min(events, start + 1000)):
                key = f"k{i % keys}"
                seq[key] = seq.get(key, 0) + 1
                data = EntryRecorded(key=key, seq=seq[key], pad="x" * pad)
                batch.append((topic, new_envelope(data, source=schema, tenant_id=None)))
            async with conn.transaction():
                await add_events(conn, schema, batch)
                await conn.executemany(
                    "INSERT INTO emitted VALUES ($1, $2, $3)",
                    [(e.event_id, e.key, e.data["seq"]) for _, e in batch],
                )
        await conn.execute("UPDATE progress SET emitted = $1", events)
    finally:
        await conn.close()


async def _sink_span(dsn: str) -> tuple[float, float]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT min(applied_at) AS a, max(applied_at) AS b FROM applied")
        return row["a"].timestamp(), row["b"].timestamp()
    finally:
        await conn.close()


async def run_one(
    infra: Any, args: argparse.Namespace, relay_batch: int, consumer_batch: int, workdir: Path
) -> dict[str, Any]:
    database = f"bench_{secrets.token_hex(3)}"
    await create_database(infra.admin_dsn, database)
    admin = with_database(infra.admin_dsn, database)
    src, sink = f"bench_src_{secrets.token_hex(3)}", f"bench_sink_{secrets.token_hex(3)}"
    dsns = {
        src: await prepare_service(admin, src, HERE / "source_migrations"),
        sink: await prepare_service(admin, sink, HERE / "sink_migrations"),
    }
    common = {"outbox_batch_size": str(relay_batch), "consumer_batch_size": str(consumer_batch)}
    pair = LedgerPair(
        dsns[src],
        dsns[sink],
        src,
        sink,
        infra.bootstrap,
        f"bench.ledger.{secrets.token_hex(3)}",
        workdir,
        source_env={
            **common,
            "target": str(args.events),
            "keys": str(args.keys),
            "rate": "0",
            "per_transaction": str(args.per_transaction),
            "pad_bytes": str(args.payload_bytes),
        },
        sink_env=common,
    )
    await pair.create_topic(args.partitions)
    if args.mode == "drain":
        await _prefill(dsns[src], src, pair.topic, args.events, args.keys, args.payload_bytes)
    pair.sink.start()
    pair.sink.wait_ready()
    started = time.time()
    pair.source.start()
    try:
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            counts = await pair.counts()
            if counts["distinct_applied"] >= args.events:
                break
            await asyncio.sleep(0.2)
        finished = time.time()
        counts = await pair.counts()
    finally:
        pair.stop()
    first, last = await _sink_span(dsns[sink])
    ok = counts["distinct_applied"] == args.events == counts["applied"] and not counts["violations"]
    return {
        "mode": args.mode,
        "events": args.events,
        "relay_batch": relay_batch,
        "consumer_batch": consumer_batch,
        "partitions": args.partitions,
        "payload_bytes": args.payload_bytes,
        "per_transaction": args.per_transaction,
        "exactly_once": ok,
        "wall_s": round(finished - started, 2),
        "events_per_s_wall": round(args.events / (finished - started)),
        "events_per_s_steady": round(args.events / max(last - first, 1e-6)),
    }


async def main(args: argparse.Namespace) -> None:
    infra = start_test_infra()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="printcloud-bench-") as tmp:
            for rb in args.relay_batch:
                for cb in args.consumer_batch:
                    r = await run_one(infra, args, rb, cb, Path(tmp))
                    results.append(r)
                    print(json.dumps(r), flush=True)
    finally:
        infra.stop()
    out = write_result("outbox", results)
    print(
        f"{'mode':6} {'relay':>6} {'cons':>6} {'events/s (steady)':>18} {'events/s (wall)':>16} ok"
    )
    for r in results:
        print(
            f"{r['mode']:6} {r['relay_batch']:>6} {r['consumer_batch']:>6} "
            f"{r['events_per_s_steady']:>18} {r['events_per_s_wall']:>16} {r['exactly_once']}"
        )
    print(f"written {out}")
    if not all(r["exactly_once"] for r in results):
        raise SystemExit("a run did not apply every event exactly once")


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--mode", choices=["drain", "live"], default="drain")
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--relay-batch", type=_ints, default=[500], help="comma list")
    p.add_argument("--consumer-batch", type=_ints, default=[500], help="comma list")
    p.add_argument("--partitions", type=int, default=6)
    p.add_argument("--keys", type=int, default=200)
    p.add_argument("--payload-bytes", type=int, default=200)
    p.add_argument("--per-transaction", type=int, default=50, help="live mode")
    p.add_argument("--timeout", type=float, default=300)
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
