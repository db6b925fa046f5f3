"""Audit entries recorded per second, and an export's speed.

Real processes on this machine: a Kafka broker, a Postgres server and the audit service
(``python -m services.audit``). ``--changes`` administrative changes are published on
``registry.printers`` as the registry would after an administrator's requests
(``printer.registered`` then ``printer.updated`` per printer, each naming its actor),
all at once; the run measures how long the service takes to record them all (entries
per second, read from its schema), then exports every entry of the tenant through
``GET /v1/audit/export`` and measures the streamed answer. The run counts only if every
change became exactly one entry and the export holds every entry once.

Example: ``python -m bench.audit --changes 20000``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.results import on_test_infra, write_result
from services.audit.app import SPEC
from shared.db.pool import connect
from shared.events.contracts.registry import PrinterRegistered, PrinterUpdated
from shared.events.envelope import Actor, EventData, new_envelope
from shared.infra.database import create_database, prepare_service, with_database
from shared.infra.kafka import free_port
from shared.infra.processes import ServiceProcess
from shared.kafka.access import KafkaAccess
from shared.kafka.admin import ensure_topics
from shared.kafka.producer import create_producer
from shared.kafka.topics import TOPICS

TOKEN = "op-" + secrets.token_hex(16)


def _changes(tenant: uuid.UUID, n: int) -> list[EventData]:
    out: list[EventData] = []
    while len(out) < n:
        state = {"printer_id": uuid.uuid4(), "tenant_id": tenant, "name": "P", "model": "M",
                 "region": "eu-west", "location": None}  # fmt: skip
        out.append(PrinterRegistered(revision=1, **state))
        out.append(PrinterUpdated(**{**state, "name": "Hall"}, revision=2, changed=["name"]))
    return out[:n]


async def _publish(kafka: KafkaAccess, tenant: uuid.UUID, n: int) -> None:
    actor = Actor(kind="user", id=str(uuid.uuid4()), token_id=uuid.uuid4())
    producer = create_producer(kafka, client_id="bench-audit")
    await producer.start()
    try:
        sent = []
        for event in _changes(tenant, n):
            env = new_envelope(event, source="registry", tenant_id=tenant, actor=actor)
            sent.append(await producer.send(event.topic, env.to_bytes(), key=env.key.encode(),
                                            headers=env.kafka_headers()))  # fmt: skip
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _recorded(dsn: str, schema: str, tenant: uuid.UUID, n: int, timeout: float) -> float:
    """Seconds until ``n`` entries of ``tenant`` are stored (or the timeout passed)."""
    started = time.monotonic()
    conn = await connect(dsn, schema, application_name="bench-audit")
    try:
        while time.monotonic() - started < timeout:
            if (
                await conn.fetchval("SELECT count(*) FROM entries WHERE tenant_id = $1", tenant)
                >= n
            ):
                break
            await asyncio.sleep(0.2)
        return time.monotonic() - started
    finally:
        await conn.close()


async def _export(port: int, tenant: uuid.UUID) -> tuple[list[dict[str, Any]], int, float]:
    started = time.monotonic()
    size = 0
    lines: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as http, http.get(
        f"http://127.0.0.1:{port}/v1/audit/export",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as resp:  # fmt: skip
        assert resp.status == 200, await resp.text()
        async for line in resp.content:
            size += len(line)
            entry = json.loads(line)
            if entry["tenant_id"] == str(tenant):
                lines.append(entry)
    return lines, size, time.monotonic() - started


async def run(args: argparse.Namespace, infra: Any, tmp: Path) -> dict[str, Any]:
    database = f"bench_{secrets.token_hex(3)}"
    await create_database(infra.admin_dsn, database)
    schema = f"audit_{secrets.token_hex(3)}"
    dsn = await prepare_service(with_database(infra.admin_dsn, database), schema,
                                SPEC.migrations_dir)  # fmt: skip
    await ensure_topics(infra.kafka, TOPICS)
    port = free_port()
    env = {"DATABASE_URL": dsn, "DB_SCHEMA": schema, "KAFKA_BOOTSTRAP": infra.bootstrap,
           "OPERATOR_TOKEN": TOKEN, "HTTP_PORT": str(port), "LOG_LEVEL": "WARNING"}  # fmt: skip
    service = ServiceProcess("audit", "services.audit",
                             {**infra.kafka_environment(),
                              **{f"PRINTCLOUD_AUDIT_{k}": v for k, v in env.items()}},
                             tmp / "audit.log", port)  # fmt: skip
    service.start()
    try:
        service.wait_ready(120)
        tenant = uuid.uuid4()
        await _publish(infra.kafka, tenant, args.changes)
        seconds = await _recorded(dsn, schema, tenant, args.changes, args.changes / 10 + 120)
        lines, size, export_s = await _export(port, tenant)
        ids = {e["event_id"] for e in lines}
        return {
            "changes": args.changes, "record_s": round(seconds, 2),
            "entries_per_s": round(args.changes / seconds, 1),
            "exported": len(lines), "export_bytes": size, "export_s": round(export_s, 2),
            "export_entries_per_s": round(len(lines) / max(export_s, 1e-9), 1),
            "ok": len(lines) == len(ids) == args.changes,
        }  # fmt: skip
    finally:
        service.kill()


async def main(args: argparse.Namespace) -> None:
    result = await on_test_infra(run, args)
    print(json.dumps(result), flush=True)
    print(f"written {write_result('audit', result)}")
    if not result["ok"]:
        raise SystemExit("not every change became exactly one exported entry")


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--changes", type=int, default=20_000)
    return p.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
