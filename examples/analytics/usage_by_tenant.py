"""Pages printed per tenant, read straight from Printcloud's Kafka topics.

Nothing of Printcloud's code is used: a Kafka client (aiokafka), the committed
JSON Schemas (shared/schemas/) to check every message, and the published topic
contract (docs/asyncapi.yaml). It reads ``job.completed`` events from
``queues.jobs`` with its own consumer group, ignores other event types,
refuses (and counts) messages that do not match their schema, and prints a
table of jobs, pages and colour pages per tenant.

It connects as the read-only ``analytics`` Kafka user (SASL SCRAM-SHA-512 over
TLS); the password comes from ``PRINTCLOUD_ANALYTICS_KAFKA_PASSWORD``:

    PRINTCLOUD_ANALYTICS_KAFKA_PASSWORD=... python examples/analytics/usage_by_tenant.py \
        --bootstrap 127.0.0.1:19092 --ca-file ~/.local/share/printcloud/kafka/tls/ca.pem \
        --from-beginning --idle-timeout 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import jsonschema
from aiokafka import AIOKafkaConsumer
from aiokafka.helpers import create_ssl_context

SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "schemas"


@dataclass
class Usage:
    jobs: int = 0
    pages: int = 0
    colour_pages: int = 0
    sheets: int = 0


class Checker:
    """Validates an envelope and, for the types it knows, its payload."""

    def __init__(self, schemas: Path) -> None:
        self.envelope = jsonschema.Draft202012Validator(
            json.loads((schemas / "envelope.json").read_text())
        )
        self.schemas = schemas
        self.payloads: dict[str, jsonschema.Draft202012Validator] = {}

    def payload(self, event_type: str, version: int) -> jsonschema.Draft202012Validator | None:
        name = f"{event_type}.v{version}.json"
        if name not in self.payloads:
            path = self.schemas / name
            if not path.exists():
                return None
            self.payloads[name] = jsonschema.Draft202012Validator(json.loads(path.read_text()))
        return self.payloads[name]


async def run(args: argparse.Namespace) -> int:
    checker = Checker(Path(args.schemas))
    consumer = AIOKafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_plain_username=args.username,
        sasl_plain_password=os.environ.get(args.password_env, ""),
        ssl_context=create_ssl_context(cafile=args.ca_file),
        group_id=args.group or f"analytics-example-{uuid.uuid4()}",
        auto_offset_reset="earliest" if args.from_beginning else "latest",
        enable_auto_commit=True,
    )
    usage: dict[str, Usage] = defaultdict(Usage)
    refused = read = 0
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=int(args.idle_timeout * 1000))
            if not batch:
                break
            for records in batch.values():
                for record in records:
                    read += 1
                    try:
                        event = json.loads(record.value)
                        checker.envelope.validate(event)
                    except (ValueError, jsonschema.ValidationError):
                        refused += 1
                        continue
                    if event["type"] != "job.completed":
                        continue
                    validator = checker.payload(event["type"], event["version"])
                    if validator is None or not validator.is_valid(event["data"]):
                        refused += 1
                        continue
                    data = event["data"]
                    row = usage[data["tenant_id"]]
                    row.jobs += 1
                    row.pages += data["printed_pages"]
                    row.colour_pages += data["colour_pages"]
                    row.sheets += data["sheets"]
    finally:
        await consumer.stop()
    print(f"{'tenant':36}  {'jobs':>8}  {'pages':>10}  {'colour':>10}  {'sheets':>10}")
    for tenant, row in sorted(usage.items(), key=lambda kv: -kv[1].pages):
        print(f"{tenant:36}  {row.jobs:8}  {row.pages:10}  {row.colour_pages:10}  {row.sheets:10}")
    print(f"read {read} messages, {refused} refused by their schema", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:19092", help="Kafka bootstrap servers")
    parser.add_argument("--username", default="analytics", help="Kafka user (read-only)")
    parser.add_argument(
        "--password-env",
        default="PRINTCLOUD_ANALYTICS_KAFKA_PASSWORD",
        help="environment variable holding the user's password",
    )
    parser.add_argument(
        "--ca-file", default=None, help="PEM CA of the broker (default: the system's CAs)"
    )
    parser.add_argument("--topic", default="queues.jobs")
    parser.add_argument("--group", default=None, help="consumer group (default: a fresh one)")
    parser.add_argument("--from-beginning", action="store_true", help="read the topic's history")
    parser.add_argument(
        "--idle-timeout", type=float, default=5.0, help="stop after this many idle seconds"
    )
    parser.add_argument("--schemas", default=str(SCHEMAS), help="directory of the JSON Schemas")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
