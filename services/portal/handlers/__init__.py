"""Session handlers: open (rotating any earlier session of the browser), look up, end
one, end all of a person's."""

from __future__ import annotations

from datetime import UTC, datetime

from services.portal.domain.model import Session, SignedIn, hash_secret, open_session
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
    """Delete expired sessions (a periodic task)."""
    async with tx() as uow:
        return await uow.repo.sessions.delete_expired(datetime.now(UTC))
