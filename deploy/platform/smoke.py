"""A request through the real interfaces: HTTP in, event out on Kafka."""

from __future__ import annotations

import asyncio
import json
import secrets

import aiohttp
from aiokafka import AIOKafkaConsumer

from shared.kafka.access import KafkaAccess


async def registry_round_trip(base_url: str, token: str, kafka: KafkaAccess) -> str:
    """Create a tenant and a printer over HTTP; wait for printer.registered on Kafka."""
    auth = {"Authorization": f"Bearer {token}"}
    suffix = secrets.token_hex(3)
    async with aiohttp.ClientSession(base_url, headers=auth) as http:
        async with http.post("/v1/tenants", json={"name": f"Smoke {suffix}"}) as r:
            r.raise_for_status()
            tenant = await r.json()
        body = {"tenant_id": tenant["id"], "name": "Lobby", "model": "Demo", "region": "eu-west"}
        async with http.post("/v1/printers", json=body) as r:
            r.raise_for_status()
            printer = await r.json()
    consumer = AIOKafkaConsumer(
        "registry.printers", **kafka.client_options(), auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            async for msg in consumer:
                event = json.loads(msg.value)
                if event["data"].get("printer_id") == printer["id"]:
                    return f"printer {printer['id']} registered; event {event['event_id']} on Kafka"
    finally:
        await consumer.stop()
    raise AssertionError("unreachable")
