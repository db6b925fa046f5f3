"""The auth service as the runtime sees it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from services.auth.api.routes import add_routes
from services.auth.authn import authenticator
from services.auth.consumers import consumers
from services.auth.domain.events import EVENTS
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.events.contracts import devices
from shared.events.registry import EventRegistry
from shared.logging import get_logger
from shared.service import Runtime, ServiceSpec
from shared.supervisor import TaskFactory

log = get_logger(__name__)


def tasks(rt: Runtime) -> dict[str, TaskFactory]:
    """Every replica checks the signing keys periodically: rotate when due, prune expired."""
    assert isinstance(rt.settings, AuthSettings)
    settings = rt.settings
    ring = KeyRing.from_settings(settings)

    async def keep_signing_keys(stop: asyncio.Event) -> None:
        while not stop.is_set():
            async with rt.pool.acquire() as conn:
                await ring.maintain(conn)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.signing_key_check_s)

    return {"signing-keys": keep_signing_keys}


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
