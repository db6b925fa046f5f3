"""Auth's periodic tasks: every replica keeps the signing keys (rotate when due, prune
expired ones) and purges login challenges long expired."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from services.auth.repository import LoginChallenges
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.logging import get_logger
from shared.service import Runtime
from shared.supervisor import TaskFactory

log = get_logger(__name__)
CHALLENGE_PURGE_S = 3600


def tasks(rt: Runtime[AuthSettings]) -> dict[str, TaskFactory]:
    """Every replica checks the signing keys periodically (rotate when due, prune expired)
    and purges login challenges long expired."""
    settings = rt.settings
    ring = KeyRing.from_settings(settings)

    async def keep_signing_keys(stop: asyncio.Event) -> None:
        while not stop.is_set():
            async with rt.pool.acquire() as conn:
                await ring.maintain(conn)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.signing_key_check_s)

    async def purge_login_challenges(stop: asyncio.Event) -> None:
        while not stop.is_set():
            keep = timedelta(seconds=settings.login_challenge_retention_s)
            async with rt.pool.acquire() as conn:
                gone = await LoginChallenges(conn).purge(datetime.now(UTC) - keep)
            if gone:
                log.info("expired login challenges purged", count=gone)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CHALLENGE_PURGE_S)

    return {"signing-keys": keep_signing_keys, "login-challenges": purge_login_challenges}
