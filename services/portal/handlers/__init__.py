"""Session handlers: open (rotating any earlier session of the browser), look up, end
one, end all of a person's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from authlib.common.security import generate_token

from services.portal.domain.model import (
    SIGN_IN_FLOW_TTL,
    Session,
    SignedIn,
    SignInFlow,
    hash_secret,
    new_secret,
    open_session,
)
from services.portal.repository import PortalRepository
from shared.db.uow import Transactions


async def sign_in(
    tx: Transactions[PortalRepository], signed_in: SignedIn, previous: str | None, ttl_s: int
) -> tuple[str, Session]:
    """A fresh session for ``signed_in``; the browser's previous one (``previous``
    cookie), if any, ends in the same transaction: a session id is never reused across a
    sign-in (no fixation)."""
    now = datetime.now(UTC)
    secret, session = open_session(signed_in, now, ttl_s)
    async with tx() as uow:
        if previous:
            await uow.repo.sessions.delete(hash_secret(previous))
        await uow.repo.sessions.insert(session)
    return secret, session


async def current(tx: Transactions[PortalRepository], secret: str) -> Session | None:
    """The live session of a cookie, or None (an expired one is forgotten)."""
    now = datetime.now(UTC)
    async with tx() as uow:
        session = await uow.repo.sessions.get(hash_secret(secret))
        if session is not None and not session.live(now):
            await uow.repo.sessions.delete(session.id_hash)
            return None
    return session


async def sign_out(tx: Transactions[PortalRepository], session: Session) -> None:
    """End this session."""
    async with tx() as uow:
        await uow.repo.sessions.delete(session.id_hash)


async def sign_out_everywhere(tx: Transactions[PortalRepository], session: Session) -> int:
    """End every session of the person, in every browser; how many ended."""
    async with tx() as uow:
        return await uow.repo.sessions.delete_of_user(session.user_id)


async def forget_expired(tx: Transactions[PortalRepository]) -> int:
    """Delete expired sessions and sign-in flows never finished (a periodic task)."""
    now = datetime.now(UTC)
    async with tx() as uow:
        await uow.repo.flows.delete_expired(now)
        return await uow.repo.sessions.delete_expired(now)


async def start_flow(
    tx: Transactions[PortalRepository], tenant_id: uuid.UUID, redirect_uri: str
) -> tuple[SignInFlow, str, str]:
    """A new sign-in flow at the tenant's identity provider: the flow, the state to send
    and the browser secret for its flow cookie."""
    state, browser = new_secret(), new_secret()
    flow = SignInFlow(
        state_hash=hash_secret(state), browser_hash=hash_secret(browser), tenant_id=tenant_id,
        nonce=new_secret(), code_verifier=generate_token(64), redirect_uri=redirect_uri,
        expires_at=datetime.now(UTC) + SIGN_IN_FLOW_TTL,
    )  # fmt: skip
    async with tx() as uow:
        await uow.repo.flows.insert(flow)
    return flow, state, browser


async def finish_flow(
    tx: Transactions[PortalRepository], state: str, browser: str | None
) -> SignInFlow | None:
    """The flow the browser comes back to (used up whatever the outcome), or None when
    the state is unknown, used or expired, or the browser is not the one that started it."""
    async with tx() as uow:
        flow = await uow.repo.flows.take(hash_secret(state))
    if flow is None or not flow.answers(browser, datetime.now(UTC)):
        return None
    return flow
