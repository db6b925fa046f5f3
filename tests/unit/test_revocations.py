"""The shared revocation cache: what authenticators and streams consult, and how it
stays bounded."""

from __future__ import annotations

import asyncio
import time
import uuid

import jwt
import pytest

from shared.errors import Unauthenticated
from shared.http.auth import (
    MAX_TOKEN_LIFETIME_S,
    Principal,
    principal_from_claims,
    verify_access_token,
)
from shared.http.revocations import RevocationCache
from shared.kafka.access import KafkaAccess
from tests.support.tokens import AUDIENCE, ISSUER, Signer


def _user(token_id: uuid.UUID) -> Principal:
    return principal_from_claims(
        {"sub": str(uuid.uuid4()), "tenant_id": None, "roles": [], "scope": "jobs:read",
         "client_id": str(token_id)}
    )  # fmt: skip


async def test_a_stream_waiting_on_its_token_ends_when_the_token_is_revoked() -> None:
    cache = RevocationCache(KafkaAccess("unused:9092"))
    token, other = uuid.uuid4(), uuid.uuid4()
    who = _user(token)
    assert who.token_id == token and not cache.is_revoked(who)
    waiting = asyncio.create_task(cache.until_revoked(who))
    bystander = asyncio.create_task(cache.until_revoked(_user(other)))
    operator = asyncio.create_task(cache.until_revoked(Principal("op", None)))
    await asyncio.sleep(0)
    cache.revoke(token)
    await asyncio.wait_for(waiting, 1)
    assert cache.is_revoked(who) and not cache.is_revoked(_user(other))
    await asyncio.wait_for(cache.until_revoked(who), 1)  # already revoked: at once
    assert not bystander.done() and not operator.done()
    bystander.cancel()
    operator.cancel()


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_revocation_is_forgotten_once_every_token_minted_before_it_has_expired() -> None:
    clock = Clock()
    cache = RevocationCache(KafkaAccess("unused:9092"), keep_s=1000, clock=clock)
    tokens = [uuid.uuid4() for _ in range(3)]
    for i, token in enumerate(tokens):
        cache.revoke(token, revoked_at=clock.now + i * 100)
    assert len(cache) == 3
    clock.now += 1000  # the first one's tokens have all expired; the others' may not
    assert not cache.is_revoked(_user(tokens[0]))
    assert cache.is_revoked(_user(tokens[1])) and cache.is_revoked(_user(tokens[2]))
    assert len(cache) == 2
    clock.now += 200
    assert len(cache) == 0


def test_a_replayed_topic_keeps_only_the_revocations_that_still_matter() -> None:
    """Years of revocations read from the topic's start leave only the recent ones."""
    clock = Clock()
    cache = RevocationCache(KafkaAccess("unused:9092"), keep_s=1000, clock=clock)
    for day in range(10_000):
        cache.revoke(uuid.uuid4(), revoked_at=clock.now - 86_400 * (day + 1))
    recent = uuid.uuid4()
    cache.revoke(recent, revoked_at=clock.now - 10)
    assert len(cache) == 1 and cache.is_revoked(_user(recent))


async def test_streams_that_end_unrevoked_leave_nothing_behind() -> None:
    cache = RevocationCache(KafkaAccess("unused:9092"))
    token = uuid.uuid4()
    first = asyncio.create_task(cache.until_revoked(_user(token)))
    second = asyncio.create_task(cache.until_revoked(_user(token)))
    others = [asyncio.create_task(cache.until_revoked(_user(uuid.uuid4()))) for _ in range(50)]
    await asyncio.sleep(0)
    assert cache.waiting == 51
    for task in [first, *others]:
        task.cancel()
    await asyncio.gather(first, *others, return_exceptions=True)
    assert cache.waiting == 1  # the second stream of the token still waits, and is told
    cache.revoke(token)
    await asyncio.wait_for(second, 1)
    assert cache.waiting == 0


def test_a_token_claiming_a_longer_life_than_revocations_are_kept_is_refused() -> None:
    signer = Signer()
    key = jwt.PyJWK.from_dict(signer.jwk, algorithm=signer.alg)
    now = int(time.time())
    check = {"issuer": ISSUER, "audience": AUDIENCE, "leeway_s": 0}
    day = verify_access_token(signer.token(exp=now + MAX_TOKEN_LIFETIME_S), key, **check)
    assert day.scopes == {"printers:read", "users:read"}
    longer = signer.token(exp=now + MAX_TOKEN_LIFETIME_S + 1)
    with pytest.raises(Unauthenticated, match="lifetime"):
        verify_access_token(longer, key, **check)
