"""Expiry and retention, run by one replica at a time."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from datetime import datetime, timedelta

from services.queues.domain.model import transition
from services.queues.handlers.common import now, record
from services.queues.handlers.documents import delete_documents_due
from services.queues.repository import QueuesRepository
from services.queues.settings import DAY_S
from shared.blobstore import BlobStore
from shared.db.uow import PostgresTransactions, Transactions
from shared.events.contracts.jobs import JobExpired
from shared.logging import get_logger

log = get_logger(__name__)


async def expire_jobs(tx: Transactions[QueuesRepository], at: datetime) -> int:
    """Expire held jobs (and reserved jobs not printed) past their time: job.expired each."""
    expired = 0
    while True:
        async with tx() as uow:
            jobs = await uow.repo.held_jobs_due(at, limit=100)
            for job in jobs:
                after = transition(job, "expired", at)
                event = JobExpired(
                    job_id=job.id,
                    tenant_id=job.tenant_id,
                    owner_id=job.owner_id,
                    at=at,
                    previous_state=job.state,
                )
                await record(uow, job, after, [event])
        expired += len(jobs)
        if len(jobs) < 100:
            return expired


def _lock_key(schema: str) -> int:
    digest = hashlib.sha256(f"printcloud.maintenance.{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def forget_keys(tx: Transactions[QueuesRepository], at: datetime, ttl_s: int) -> int:
    """Delete the idempotency keys older than ``ttl_s``; how many went."""
    forgotten = 0
    while True:
        async with tx() as uow:
            gone = await uow.repo.delete_idempotency_keys_before(
                at - timedelta(seconds=ttl_s), limit=1000
            )
        forgotten += gone
        if gone < 1000:
            return forgotten


async def run_once(
    tx: PostgresTransactions[QueuesRepository],
    store: BlobStore,
    retention_s: int,
    key_ttl_s: int = DAY_S,
) -> tuple[int, int]:
    """One round of expiry, retention and forgetting old idempotency keys, if this
    replica holds the lock; (expired, deleted)."""
    lock = _lock_key(tx.out.schema)
    async with tx.pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock):
            return 0, 0
        try:
            at = now()
            expired = await expire_jobs(tx, at)
            deleted = await delete_documents_due(tx, store, at, retention_s)
            forgotten = await forget_keys(tx, at, key_ttl_s)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", lock)
    if expired or deleted or forgotten:
        log.info(
            "maintenance",
            expired=expired,
            documents_deleted=deleted,
            idempotency_keys_forgotten=forgotten,
        )
    return expired, deleted


async def loop(
    tx: PostgresTransactions[QueuesRepository],
    store: BlobStore,
    *,
    retention_s: int,
    key_ttl_s: int = DAY_S,
    interval_s: float,
    stop: asyncio.Event,
) -> None:
    """Run :func:`run_once` every ``interval_s`` until ``stop``."""
    while not stop.is_set():
        await run_once(tx, store, retention_s, key_ttl_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
