"""The portal's periodic task: every replica forgets sessions that expired (a browser
that never signs out leaves its row behind)."""

from __future__ import annotations

import asyncio
import contextlib

from services.portal import handlers
from services.portal.repository import PortalRepository
from services.portal.settings import PortalSettings
from shared.logging import get_logger
from shared.service import Runtime
from shared.supervisor import TaskFactory

log = get_logger(__name__)
PURGE_S = 600


def tasks(rt: Runtime[PortalSettings]) -> dict[str, TaskFactory]:
    """Forget expired sessions every ten minutes."""

    async def forget_expired_sessions(stop: asyncio.Event) -> None:
        while not stop.is_set():
            gone = await handlers.forget_expired(rt.transactions(PortalRepository))
            if gone:
                log.info("expired sessions forgotten", count=gone)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PURGE_S)

    return {"expired-sessions": forget_expired_sessions}
