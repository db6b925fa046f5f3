"""The auth service as the runtime sees it."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.auth.api.routes import add_routes
from services.auth.authn import authenticator
from services.auth.consumers import consumers
from services.auth.domain.events import EVENTS
from services.auth.repository import LoginChallenges
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.events.contracts import devices
from shared.events.registry import EventRegistry
from shared.logging import get_logger
from shared.service import Runtime, ServiceSpec
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


SPEC = ServiceSpec(
    name="auth",
    settings_cls=AuthSettings,
    registry=EventRegistry([*EVENTS, *devices.EVENTS]),
    migrations_dir=Path(__file__).parent / "migrations",
    add_routes=add_routes,
    consumers=consumers,
    tasks=tasks,
    authenticator=authenticator,
)
