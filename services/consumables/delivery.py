"""Sending orders to suppliers' webhooks, at least once, until they answer.

The ``order_deliveries`` table is the worker's durable queue: a row is written in the
transaction that creates the order, so an order is never lost between its creation and
its delivery. Any replica claims due rows (``FOR UPDATE SKIP LOCKED``) and leases them
for ``delivery_lease_s``; a replica dying mid-call leaves the row to be retried after
the lease. Each attempt carries the order id as ``Idempotency-Key``, so the supplier can
recognise a repeat. A 2xx marks the order sent; a 4xx other than 408/425/429 closes it as
refused by the supplier; anything else (no connection, timeouts, 5xx) is retried with
exponential back-off and jitter, without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import socket
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from services.consumables.domain.model import (
    KnownPrinter,
    Order,
    Supplier,
    backoff_s,
    retryable_status,
)
from services.consumables.domain.signing import SIGNATURE_HEADER, signature
from services.consumables.handlers import orders
from services.consumables.repository import ConsumablesRepository
from services.consumables.settings import ConsumablesSettings
from shared.crypto.sealing import KeyEncryptionKey, SealError
from shared.db.uow import Transactions
from shared.logging import get_logger

log = get_logger(__name__)


class AddressRefused(OSError):
    """The webhook's host resolves only to addresses this service may not call."""


def allowed_address(address: str) -> bool:
    """Whether a webhook may go to ``address``: public unicast only."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


class PublicOnlyResolver(ThreadedResolver):
    """Resolves names to public addresses only, so that a webhook cannot reach the
    service's own network, whatever the name resolves to at the moment of the call."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = [
            r for r in await super().resolve(host, port, family) if allowed_address(r["host"])
        ]
        if not results:
            raise AddressRefused(f"{host} resolves to no public address")
        return results


def order_payload(order: Order, printer: KnownPrinter | None, public_url: str) -> dict[str, Any]:
    """The JSON body sent to the supplier."""
    base = f"{public_url.rstrip('/')}/v1/supply-orders/{order.id}"
    return {
        "type": "supply_order.created",
        "order_id": str(order.id),
        "tenant_id": str(order.tenant_id),
        "created_at": order.created_at.isoformat(),
        "printer": {
            "id": str(order.printer_id),
            "name": printer.name if printer else None,
            "model": printer.model if printer else None,
            "region": printer.region if printer else None,
            "location": printer.location if printer else None,
        },
        "supply": {
            "kind": order.kind,
            "colour": order.colour,
            "name": order.supply_name,
            "level_percent": order.level_percent,
            "threshold_percent": order.threshold_percent,
        },
        "quantity": 1,
        "callbacks": {"shipped": f"{base}/shipped", "delivered": f"{base}/delivered"},
    }


class DeliveryWorker:
    """Claims due webhook deliveries and makes one attempt for each."""

    def __init__(
        self, tx: Transactions[ConsumablesRepository], settings: ConsumablesSettings
    ) -> None:
        self._tx = tx
        self._s = settings
        secret = settings.key_encryption_key
        self._kek = KeyEncryptionKey.from_text(secret.get_secret_value()) if secret else None

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set."""
        if self._kek is None:
            log.warning("no key-encryption key: orders wait until one is configured")
            await stop.wait()
            return
        resolver = None if self._s.webhook_allow_private else PublicOnlyResolver()
        connector = aiohttp.TCPConnector(resolver=resolver, limit=self._s.delivery_batch)
        timeout = aiohttp.ClientTimeout(total=self._s.delivery_timeout_s)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            while not stop.is_set():
                if await self.deliver_due(http) < self._s.delivery_batch:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self._s.delivery_poll_s)

    async def deliver_due(self, http: aiohttp.ClientSession) -> int:
        """One round: claim the due deliveries and attempt each; returns how many."""
        async with self._tx() as uow:
            claimed = await uow.repo.claim_deliveries(
                self._s.delivery_batch, self._s.delivery_lease_s
            )
        await asyncio.gather(*(self._attempt(http, c.order_id, c.attempts) for c in claimed))
        return len(claimed)

    async def _attempt(
        self, http: aiohttp.ClientSession, order_id: uuid.UUID, attempts: int
    ) -> None:
        order, supplier, printer = await orders.to_deliver(self._tx, order_id)
        if order is None or supplier is None:
            return
        status, text = await self._post(http, order, supplier, printer)
        if status is not None and 200 <= status < 300:
            await orders.webhook_accepted(self._tx, order_id, attempts)
            log.info("order sent", order_id=str(order_id), attempts=attempts)
        elif status is not None and not retryable_status(status):
            await orders.webhook_refused(self._tx, order_id, status, text)
            log.warning("order refused by supplier", order_id=str(order_id), status=status)
        else:
            delay = backoff_s(attempts, base_s=self._s.retry_base_s, cap_s=self._s.retry_cap_s)
            await orders.webhook_failed(self._tx, order_id, delay, status, text)
            log.info(
                "order delivery failed; will retry", order_id=str(order_id),
                attempts=attempts, status=status, error=text[:200], retry_in_s=round(delay, 2),
            )  # fmt: skip

    async def _post(
        self,
        http: aiohttp.ClientSession,
        order: Order,
        supplier: Supplier,
        printer: KnownPrinter | None,
    ) -> tuple[int | None, str]:
        """One attempt: (status, start of the answer) or (None, why it failed)."""
        assert self._kek is not None
        try:
            sealed = supplier.sealed_secret or b""
            secret = self._kek.open(sealed, aad=supplier.id.bytes).decode()
        except SealError as exc:
            return None, f"the supplier's secret cannot be opened: {exc}"
        url = supplier.webhook_url
        host = urlsplit(url).hostname or ""
        with contextlib.suppress(ValueError):
            if not self._s.webhook_allow_private and not allowed_address(host):
                return None, f"{host} is not a public address"
        body = json.dumps(order_payload(order, printer, self._s.public_url)).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": str(order.id),
            SIGNATURE_HEADER: signature(secret, int(time.time()), body),
            "User-Agent": "Printcloud-Consumables/1",
        }
        try:
            async with http.post(url, data=body, headers=headers, allow_redirects=False) as resp:
                text = (await resp.content.read(2000)).decode(errors="replace")
                return resp.status, text
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
