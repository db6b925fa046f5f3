"""Revoked API tokens, followed from auth's ``auth.tokens`` topic.

An access token is verified offline, so without this a token minted from an API
token outlives the API token's revocation until it expires. Every service keeps the
ids of revoked API tokens (the ``client_id`` claim of the access tokens minted from
them) by reading the topic from the start and following it — never auth's schema —
and its authenticator refuses those tokens within the topic's latency.

Long-lived responses (server-sent-event streams) end on revocation by awaiting
:meth:`RevocationCache.until_revoked` for the principal that opened them.
"""

from __future__ import annotations

import asyncio
import uuid

from aiohttp import web

from shared.events.contracts.users import ApiTokenRevoked
from shared.events.registry import EventDecodeError, EventRegistry
from shared.http.auth import Principal
from shared.kafka.access import KafkaAccess
from shared.kafka.replay import replay_and_follow
from shared.logging import get_logger

log = get_logger(__name__)
TOPIC = ApiTokenRevoked.topic
_REGISTRY = EventRegistry([ApiTokenRevoked])


class RevocationCache:
    """The ids of revoked API tokens, kept current from ``auth.tokens``."""

    def __init__(self, kafka: KafkaAccess) -> None:
        self._kafka = kafka
        self._revoked: set[uuid.UUID] = set()
        self._waiting: dict[uuid.UUID, asyncio.Event] = {}
        self.ready = asyncio.Event()

    def revoke(self, token_id: uuid.UUID) -> None:
        """Record a revoked API token; streams opened with it are told at once."""
        self._revoked.add(token_id)
        event = self._waiting.pop(token_id, None)
        if event is not None:
            event.set()

    def is_revoked(self, principal: Principal) -> bool:
        """Whether the principal's access token came from a revoked API token."""
        return principal.token_id is not None and principal.token_id in self._revoked

    async def until_revoked(self, principal: Principal) -> None:
        """Return when the principal's API token is revoked (never for a principal that
        came from no API token, e.g. the operator token)."""
        if principal.token_id is None:
            await asyncio.Event().wait()
            return
        if principal.token_id in self._revoked:
            return
        event = self._waiting.setdefault(principal.token_id, asyncio.Event())
        await event.wait()

    async def run(self, stop: asyncio.Event) -> None:
        """Read the topic from the beginning, then follow it until ``stop``."""
        await replay_and_follow(
            self._kafka,
            TOPIC,
            self._apply,
            self.ready,
            stop,
            what="token revocations",
            poll_ms=200,
        )

    def _apply(self, raw: bytes | None) -> None:
        try:
            event = _REGISTRY.decode(raw)
        except EventDecodeError:
            return  # api_token.created and others on the same topic
        data = event.data
        if isinstance(data, ApiTokenRevoked):
            self.revoke(data.token_id)


REVOCATIONS = web.AppKey("revocations", RevocationCache)
"""The app's revocation cache (set by :func:`shared.service.create_app`)."""


def revocations(request: web.Request) -> RevocationCache | None:
    """The revocation cache of the request's app, if it keeps one."""
    return request.app.get(REVOCATIONS)
