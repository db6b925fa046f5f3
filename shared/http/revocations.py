"""Revoked API tokens, followed from auth's ``auth.tokens`` topic.

An access token is verified offline, so without this a token minted from an API
token outlives the API token's revocation until it expires. Every service keeps the
ids of revoked API tokens (the ``client_id`` claim of the access tokens minted from
them) by reading the topic from the start and following it — never auth's schema —
and its authenticator refuses those tokens within the topic's latency.

The cache is bounded: a revocation is needed only while an access token minted before
it can still be valid, so each is forgotten ``keep_s`` after it happened (the longest
lifetime an access token may have, plus the clock leeway); revocations older than that
are not even taken in when the topic is replayed. Services refuse access tokens that
claim a longer lifetime (``max_lifetime_s`` of :func:`shared.http.auth.verify_access_token`),
so nothing forgotten can come back.

Long-lived responses (server-sent-event streams) end on revocation by awaiting
:meth:`RevocationCache.until_revoked` for the principal that opened them.
"""

from __future__ import annotations

import asyncio
import heapq
import time
import uuid
from collections.abc import Callable

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
    """The ids of revoked API tokens, kept current from ``auth.tokens`` and forgotten
    ``keep_s`` after their revocation (when every token minted before it has expired)."""

    def __init__(
        self,
        kafka: KafkaAccess,
        *,
        keep_s: float = 86_400 + 300,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kafka = kafka
        self._keep_s = keep_s
        self._clock = clock
        self._revoked: dict[uuid.UUID, float] = {}
        """token id -> when it may be forgotten (unix seconds)."""
        self._expiry: list[tuple[float, uuid.UUID]] = []
        self._waiting: dict[uuid.UUID, tuple[asyncio.Event, int]] = {}
        """token id -> (set on its revocation, how many streams wait on it)."""
        self.ready = asyncio.Event()

    def __len__(self) -> int:
        """How many revocations are kept now."""
        self._forget_expired()
        return len(self._revoked)

    def revoke(self, token_id: uuid.UUID, revoked_at: float | None = None) -> None:
        """Record a revoked API token (revoked at ``revoked_at``, unix seconds; now if
        None); streams opened with it are told at once."""
        forget_at = (self._clock() if revoked_at is None else revoked_at) + self._keep_s
        self._forget_expired()
        if forget_at > self._clock() and forget_at > self._revoked.get(token_id, 0.0):
            self._revoked[token_id] = forget_at
            heapq.heappush(self._expiry, (forget_at, token_id))
        waiting = self._waiting.pop(token_id, None)
        if waiting is not None:
            waiting[0].set()

    def is_revoked(self, principal: Principal) -> bool:
        """Whether the principal's access token came from a revoked API token."""
        if principal.token_id is None:
            return False
        self._forget_expired()
        return principal.token_id in self._revoked

    async def until_revoked(self, principal: Principal) -> None:
        """Return when the principal's API token is revoked (never for a principal that
        came from no API token, e.g. the operator token)."""
        token_id = principal.token_id
        if token_id is None:
            await asyncio.Event().wait()
            return
        if self.is_revoked(principal):
            return
        event, count = self._waiting.get(token_id, (asyncio.Event(), 0))
        self._waiting[token_id] = (event, count + 1)
        try:
            await event.wait()
        finally:
            # The last stream of a token that ends unrevoked leaves nothing behind.
            current = self._waiting.get(token_id)
            if current is not None and current[0] is event:
                if current[1] <= 1:
                    del self._waiting[token_id]
                else:
                    self._waiting[token_id] = (event, current[1] - 1)

    @property
    def waiting(self) -> int:
        """How many tokens have streams waiting for their revocation."""
        return len(self._waiting)

    def _forget_expired(self) -> None:
        now = self._clock()
        while self._expiry and self._expiry[0][0] <= now:
            forget_at, token_id = heapq.heappop(self._expiry)
            if self._revoked.get(token_id) == forget_at:
                del self._revoked[token_id]

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
            self.revoke(data.token_id, data.revoked_at.timestamp())


REVOCATIONS = web.AppKey("revocations", RevocationCache)
"""The app's revocation cache (set by :func:`shared.service.create_app`)."""


def revocations(request: web.Request) -> RevocationCache | None:
    """The revocation cache of the request's app, if it keeps one."""
    return request.app.get(REVOCATIONS)
