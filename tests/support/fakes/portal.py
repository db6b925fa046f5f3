"""An in-memory stand-in for the portal's repository (its sessions table)."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.portal.domain.model import Session, SignInFlow


class FakeSessions:
    """The ``sessions`` table in a dict."""

    def __init__(self) -> None:
        self.rows: dict[bytes, Session] = {}

    async def insert(self, s: Session) -> None:
        assert s.id_hash not in self.rows
        self.rows[s.id_hash] = s

    async def get(self, id_hash: bytes) -> Session | None:
        return self.rows.get(id_hash)

    async def delete(self, id_hash: bytes) -> None:
        self.rows.pop(id_hash, None)

    async def delete_of_user(self, user_id: uuid.UUID) -> int:
        gone = [k for k, s in self.rows.items() if s.user_id == user_id]
        for k in gone:
            del self.rows[k]
        return len(gone)

    async def delete_expired(self, now: datetime) -> int:
        gone = [k for k, s in self.rows.items() if s.expires_at <= now]
        for k in gone:
            del self.rows[k]
        return len(gone)


class FakeSignInFlows:
    """The ``sign_in_flows`` table in a dict."""

    def __init__(self) -> None:
        self.rows: dict[bytes, SignInFlow] = {}

    async def insert(self, f: SignInFlow) -> None:
        assert f.state_hash not in self.rows
        self.rows[f.state_hash] = f

    async def take(self, state_hash: bytes) -> SignInFlow | None:
        return self.rows.pop(state_hash, None)

    async def delete_expired(self, now: datetime) -> int:
        gone = [k for k, f in self.rows.items() if f.expires_at <= now]
        for k in gone:
            del self.rows[k]
        return len(gone)


class FakePortalRepository:
    """Every table of the portal, in memory."""

    def __init__(self) -> None:
        self.sessions = FakeSessions()
        self.flows = FakeSignInFlows()
