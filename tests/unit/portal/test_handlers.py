"""Portal sessions against an in-memory repository: a sign-in always makes a new
session id and ends the browser's previous one, a session ends before its access token,
expired sessions are not found, and signing out everywhere ends every browser's."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.portal import handlers
from services.portal.domain.model import SignedIn, hash_secret, same_token
from shared.testing.uow import InMemoryTransactions
from tests.support.fakes.portal import FakePortalRepository

ADA = uuid.uuid4()
TENANT = uuid.uuid4()


def signed_in(user: uuid.UUID = ADA, expires_in: float = 900) -> SignedIn:
    return SignedIn(user, TENANT, frozenset({"user"}), "jwt", expires_in, "passkey")


def world() -> tuple[FakePortalRepository, InMemoryTransactions[FakePortalRepository]]:
    repo = FakePortalRepository()
    return repo, InMemoryTransactions(repo)


async def test_sign_in_rotates_the_browsers_session() -> None:
    repo, tx = world()
    first, _ = await handlers.sign_in(tx, signed_in(), None, 3600)
    second, session = await handlers.sign_in(tx, signed_in(), first, 3600)
    assert first != second
    assert await handlers.current(tx, first) is None
    assert await handlers.current(tx, second) == session
    assert list(repo.sessions.rows) == [hash_secret(second)]


async def test_only_the_hash_of_the_cookie_is_kept() -> None:
    repo, tx = world()
    secret, session = await handlers.sign_in(tx, signed_in(), None, 3600)
    assert session.id_hash == hash_secret(secret) != secret.encode()
    assert secret not in repr(repo.sessions.rows)


async def test_a_session_ends_before_its_access_token() -> None:
    _, tx = world()
    _, session = await handlers.sign_in(tx, signed_in(expires_in=900), None, 8 * 3600)
    assert session.expires_at < datetime.now(UTC) + timedelta(seconds=900)
    _, long = await handlers.sign_in(tx, signed_in(expires_in=86400), None, 3600)
    assert long.expires_at <= datetime.now(UTC) + timedelta(seconds=3600)


async def test_an_expired_session_is_not_found_and_forgotten() -> None:
    repo, tx = world()
    secret, session = await handlers.sign_in(tx, signed_in(), None, 3600)
    repo.sessions.rows[session.id_hash] = replace(
        session, expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert await handlers.current(tx, secret) is None
    assert repo.sessions.rows == {}


async def test_sign_out_everywhere_ends_every_session_of_the_person_only() -> None:
    _, tx = world()
    a1, session = await handlers.sign_in(tx, signed_in(), None, 3600)
    a2, _ = await handlers.sign_in(tx, signed_in(), None, 3600)
    bob, _ = await handlers.sign_in(tx, signed_in(uuid.uuid4()), None, 3600)
    assert await handlers.sign_out_everywhere(tx, session) == 2
    assert await handlers.current(tx, a1) is None and await handlers.current(tx, a2) is None
    assert await handlers.current(tx, bob) is not None


async def test_csrf_tokens_compare_exactly() -> None:
    _, tx = world()
    _, session = await handlers.sign_in(tx, signed_in(), None, 3600)
    assert same_token(session.csrf_token, session.csrf_token)
    assert not same_token(session.csrf_token[:-1] + "x", session.csrf_token)
    assert not same_token("", session.csrf_token) and not same_token(None, session.csrf_token)


async def test_expired_sessions_are_forgotten_and_live_ones_kept() -> None:
    repo, tx = world()
    _, session = await handlers.sign_in(tx, signed_in(), None, 3600)
    live, _ = await handlers.sign_in(tx, signed_in(uuid.uuid4()), None, 3600)
    repo.sessions.rows[session.id_hash] = replace(
        session, expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    assert await handlers.forget_expired(tx) == 1
    assert list(repo.sessions.rows) == [hash_secret(live)]


async def test_a_sign_in_flow_finishes_once_and_only_in_the_browser_that_started_it() -> None:
    repo, tx = world()
    flow, state, browser = await handlers.start_flow(tx, TENANT, "http://x/cb")
    assert flow.state_hash == hash_secret(state)  # only the hash of the state is kept
    assert len(flow.code_verifier) >= 43 and flow.nonce and flow.tenant_id == TENANT
    assert await handlers.finish_flow(tx, state, "another-browser") is None
    assert repo.flows.rows == {}  # a wrong browser used the state up too
    flow, state, browser = await handlers.start_flow(tx, TENANT, "http://x/cb")
    assert await handlers.finish_flow(tx, state, browser) == flow
    assert await handlers.finish_flow(tx, state, browser) is None


async def test_an_expired_sign_in_flow_is_refused_and_forgotten() -> None:
    repo, tx = world()
    flow, state, browser = await handlers.start_flow(tx, TENANT, "http://x/cb")
    old = replace(flow, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    repo.flows.rows[flow.state_hash] = old
    assert await handlers.finish_flow(tx, state, browser) is None
    await handlers.start_flow(tx, TENANT, "http://x/cb")
    expired = next(iter(repo.flows.rows.values()))
    repo.flows.rows[expired.state_hash] = replace(expired, expires_at=datetime.now(UTC))
    await handlers.forget_expired(tx)
    assert repo.flows.rows == {}
