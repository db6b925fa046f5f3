"""The shared revocation cache: what authenticators and streams consult."""

from __future__ import annotations

import asyncio
import uuid

from shared.http.auth import Principal, principal_from_claims
from shared.http.revocations import RevocationCache
from shared.kafka.access import KafkaAccess


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
