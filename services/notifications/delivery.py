"""Sending queued webhooks, at least once, in order per key, each endpoint on its own.

The ``deliveries`` table is the worker's durable queue (rows are written in the inbox
transaction of the event they tell). Any replica leases due rows
(``FOR UPDATE SKIP LOCKED``) for ``delivery_lease_s``: a replica dying mid-call leaves
the row to be retried after the lease, with the same ``webhook-id``. Only the first
pending row of each (endpoint, key) is due, so a job's later change never overtakes an
earlier one; and no endpoint has more than ``endpoint_concurrency`` attempts in flight,
so a slow endpoint holds up only its own deliveries. Attempts run as independent tasks:
the loop claims more as soon as any of them ends.

Each request is signed per Standard Webhooks (``webhook-id``, ``webhook-timestamp``,
``webhook-signature`` with one ``v1,<base64>`` per secret that signs now), answers are
read up to ``max_response_bytes`` within ``delivery_timeout_s``, and redirects are never
followed (see :mod:`services.notifications.outbound`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
from standardwebhooks.webhooks import Webhook
from yarl import URL

from services.notifications.domain.model import Claimed, Outcome
from services.notifications.handlers import deliveries
from services.notifications.handlers.deliveries import RetryPolicy
from services.notifications.outbound import CheckedResolver, UrlPolicy
from services.notifications.repository import NotificationsRepository
from services.notifications.settings import NotificationsSettings
from shared.crypto.sealing import KeyEncryptionKey, SealError
from shared.db.uow import Transactions
from shared.logging import get_logger

log = get_logger(__name__)
USER_AGENT = "Printcloud-Webhooks/1"
SECRETS_TTL_S = 5.0


def policy_of(settings: NotificationsSettings) -> UrlPolicy:
    """The URL rules the settings ask for."""
    return UrlPolicy(allow_http=settings.allow_http, allowed_networks=settings.allowed_networks)


class DeliveryWorker:
    """Claims due deliveries and attempts each in a task of its own."""

    def __init__(
        self, tx: Transactions[NotificationsRepository], settings: NotificationsSettings
    ) -> None:
        self._tx = tx
        self._s = settings
        self._policy = policy_of(settings)
        self._retry = RetryPolicy(
            base_s=settings.retry_base_s, cap_s=settings.retry_cap_s,
            retry_for_s=settings.retry_for_s,
            disable_after_failures=settings.disable_after_failures,
            disable_after_s=settings.disable_after_s,
        )  # fmt: skip
        secret = settings.key_encryption_key
        self._kek = KeyEncryptionKey.from_text(secret.get_secret_value()) if secret else None
        self._in_flight: dict[asyncio.Task[None], uuid.UUID] = {}
        self._secrets: dict[uuid.UUID, tuple[float, list[str]]] = {}
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; attempts in flight are finished first."""
        connector = aiohttp.TCPConnector(
            resolver=CheckedResolver(self._policy), limit=self._s.delivery_concurrency,
            limit_per_host=0, force_close=False,
        )  # fmt: skip
        timeout = aiohttp.ClientTimeout(total=self._s.delivery_timeout_s)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, auto_decompress=False
        ) as http:
            try:
                while not stop.is_set():
                    started = await self._claim_round(http)
                    if not started:
                        await self._pause(stop)
            finally:
                if self._in_flight:
                    await asyncio.wait(
                        list(self._in_flight), timeout=self._s.delivery_timeout_s + 5
                    )
                for task in list(self._in_flight):
                    task.cancel()

    async def _pause(self, stop: asyncio.Event) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(
                waiters, timeout=self._s.delivery_poll_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for w in waiters:
                w.cancel()

    async def _claim_round(self, http: aiohttp.ClientSession) -> int:
        """Claim what fits in the free slots and start an attempt for each."""
        free = self._s.delivery_concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        per_endpoint = Counter(self._in_flight.values())
        busy = [e for e, n in per_endpoint.items() if n >= self._s.endpoint_concurrency]
        claimed = await deliveries.claim(
            self._tx, free, self._s.delivery_lease_s, self._s.endpoint_concurrency, busy
        )
        for c in claimed:
            task = asyncio.create_task(self._attempt(http, c))
            self._in_flight[task] = c.endpoint_id
            task.add_done_callback(self._done)
        return len(claimed)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(task, None)
        self._wake.set()
        if not task.cancelled() and (exc := task.exception()) is not None:
            # The lease runs out and the delivery is attempted again: nothing is lost.
            log.error("webhook attempt not recorded", error=repr(exc))

    async def _attempt(self, http: aiohttp.ClientSession, c: Claimed) -> None:
        outcome = await self._post(http, c)
        state = await deliveries.attempted(self._tx, c, outcome, self._retry)
        log.info(
            "webhook attempted", delivery_id=c.id, endpoint_id=str(c.endpoint_id),
            webhook_id=str(c.message_id), event_type=c.event_type, attempt=c.attempts,
            status=outcome.status, latency_ms=outcome.latency_ms, state=state,
            error=(outcome.error or "")[:200],
        )  # fmt: skip

    async def signature(self, c: Claimed, timestamp: datetime) -> str | None:
        """The ``webhook-signature`` header: one signature per secret that signs now."""
        body = c.body.encode()
        sigs = [
            Webhook(secret).sign(str(c.message_id), timestamp, body)
            for secret in await self._signing_secrets(c.endpoint_id)
        ]
        return " ".join(sigs) or None

    async def _signing_secrets(self, endpoint_id: uuid.UUID) -> list[str]:
        """The endpoint's secrets that sign now, opened; kept for ``SECRETS_TTL_S`` (a
        rotation or an expiry shows within that time)."""
        now = time.monotonic()
        cached = self._secrets.get(endpoint_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        opened = []
        if self._kek is not None:
            for secret in await deliveries.signing_secrets(self._tx, endpoint_id):
                with contextlib.suppress(SealError):
                    opened.append(self._kek.open(secret.sealed, aad=endpoint_id.bytes).decode())
        if len(self._secrets) > 10_000:
            self._secrets.clear()
        self._secrets[endpoint_id] = (now + SECRETS_TTL_S, opened)
        return opened

    async def _post(self, http: aiohttp.ClientSession, c: Claimed) -> Outcome:
        """One attempt's outcome."""
        host = urlsplit(c.url).hostname or ""
        why = self._policy.form_refusal(c.url) or self._policy.literal_refusal(host)
        if why is not None:
            return Outcome(status=None, latency_ms=0, error=f"refused: {why}")
        now = datetime.now(UTC)
        signature = await self.signature(c, now)
        if signature is None:
            return Outcome(status=None, latency_ms=0, error="no signing secret can be opened")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": str(c.message_id),
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": signature,
        }
        started = time.monotonic()
        try:
            async with http.post(
                c.url, data=c.body.encode(), headers=headers, allow_redirects=False
            ) as resp:
                text = (await resp.content.read(self._s.max_response_bytes)).decode(
                    errors="replace"
                )
                latency = int((time.monotonic() - started) * 1000)
                error = await self._redirect_error(resp) if 300 <= resp.status < 400 else None
                return Outcome(status=resp.status, latency_ms=latency, error=error, response=text)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            latency = int((time.monotonic() - started) * 1000)
            return Outcome(status=None, latency_ms=latency, error=_describe(exc))

    async def _redirect_error(self, resp: aiohttp.ClientResponse) -> str:
        location = resp.headers.get("Location", "")
        target = str(resp.url.join(URL(location))) if location else ""
        why = await self._policy.refusal(target) if target else None
        refused = f"; it is refused: {why}" if why else ""
        return f"redirect to {target or '(no Location)'} not followed{refused}"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return "timed out"
    cause = exc.__cause__ or exc.__context__
    for e in (exc, cause):
        if e is not None and str(e).startswith("refused:"):
            return str(e)
    text = str(exc) or type(exc).__name__
    if "refused:" in text:
        return text[text.index("refused:") :]
    return f"{type(exc).__name__}: {text}"[:2000]
