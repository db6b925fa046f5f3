"""Auth's repository in memory (see :mod:`services.auth.repository`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.auth.domain.groups import Group
from services.auth.domain.keys import KeySlot
from services.auth.domain.model import (
    ApiToken,
    DeviceCredential,
    LoginChallenge,
    Passkey,
    PasskeyChallenge,
    PhoneKey,
    User,
)
from shared.db.uow import AlreadyExists
from shared.sharing import Membership


class FakeUsers:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, User] = {}
        self.deleted: set[uuid.UUID] = set()

    def _email_taken(self, u: User) -> bool:
        if u.email is None:
            return False
        return any(
            o.id != u.id
            and o.id not in self.deleted
            and o.tenant_id == u.tenant_id
            and o.email is not None
            and o.email.lower() == u.email.lower()
            for o in self.rows.values()
        )

    async def insert(self, u: User) -> User:
        if self._email_taken(u):
            raise AlreadyExists("email")
        self.rows[u.id] = u
        return u

    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        return None if user_id in self.deleted else self.rows.get(user_id)

    async def save(self, u: User) -> None:
        if self._email_taken(u):
            raise AlreadyExists("email")
        self.rows[u.id] = u

    async def delete(self, u: User, at: datetime) -> None:
        self.rows[u.id] = replace(u, updated_at=at)
        self.deleted.add(u.id)

    async def list(
        self, *, tenant_id: uuid.UUID | None, platform: bool, after: uuid.UUID | None, limit: int
    ) -> list[User]:
        found = [
            u
            for u in sorted(self.rows.values(), key=lambda u: u.id)
            if u.id not in self.deleted
            and (u.tenant_id is None if platform else tenant_id in (None, u.tenant_id))
            and (after is None or u.id > after)
        ]
        return found[:limit]


class FakeApiTokens:
    def __init__(self, users: FakeUsers) -> None:
        self.users = users
        self.rows: dict[uuid.UUID, ApiToken] = {}
        self.hashes: dict[uuid.UUID, bytes] = {}

    async def insert(self, t: ApiToken, token_hash: bytes) -> None:
        if token_hash in self.hashes.values():
            raise AlreadyExists("token_hash")
        self.rows[t.id] = t
        self.hashes[t.id] = token_hash

    async def get(self, token_id: uuid.UUID, *, for_update: bool = False) -> ApiToken | None:
        return self.rows.get(token_id)

    async def of_user(self, user_id: uuid.UUID) -> list[ApiToken]:
        mine = [t for t in self.rows.values() if t.user_id == user_id]
        return sorted(mine, key=lambda t: (-t.created_at.timestamp(), t.id))

    async def revoke(self, token_ids: Sequence[uuid.UUID], at: datetime) -> list[ApiToken]:
        done = []
        for token_id in token_ids:
            t = self.rows.get(token_id)
            if t is not None and t.revoked_at is None:
                self.rows[token_id] = t = replace(t, revoked_at=at)
                done.append(t)
        return done

    async def lock_live_of_user(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        return sorted(
            t.id for t in self.rows.values() if t.user_id == user_id and t.revoked_at is None
        )

    async def by_hash(self, token_hash: bytes) -> tuple[ApiToken, User, bytes] | None:
        for token_id, stored in self.hashes.items():
            if stored == token_hash:
                token = self.rows[token_id]
                user = await self.users.get(token.user_id)
                return None if user is None else (token, user, stored)
        return None

    async def touch(self, token_id: uuid.UUID, at: datetime) -> None:
        self.rows[token_id] = replace(self.rows[token_id], last_used_at=at)


class FakeSigningKeys:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[KeySlot, str, dict[str, str], bytes]] = {}
        self.locks = 0

    async def lock(self) -> None:
        self.locks += 1

    async def slots(self) -> list[KeySlot]:
        return [row[0] for row in self.rows.values()]

    async def insert(
        self, slot: KeySlot, algorithm: str, jwk: dict[str, str], sealed: bytes
    ) -> None:
        self.rows[slot.kid] = (slot, algorithm, jwk, sealed)

    async def delete(self, kids: Sequence[str]) -> None:
        for kid in kids:
            self.rows.pop(kid, None)

    async def sealed_signing_key(self, at: datetime) -> tuple[str, bytes] | None:
        live = [r for r in self.rows.values() if r[0].activates_at <= at]
        if not live:
            return None
        slot, _, _, sealed = max(live, key=lambda r: (r[0].activates_at, r[0].kid))
        return slot.kid, sealed

    async def public_keys(self) -> list[tuple[KeySlot, dict[str, Any]]]:
        return [(slot, dict(jwk)) for slot, _, jwk, _ in self.rows.values()]


class FakeDeviceCredentials:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, DeviceCredential] = {}
        self.timestamps: dict[uuid.UUID, int] = {}

    async def get(
        self, device_id: uuid.UUID, *, for_update: bool = False
    ) -> DeviceCredential | None:
        return self.rows.get(device_id)

    async def active_device_with_key(self, fingerprint: str) -> uuid.UUID | None:
        for c in self.rows.values():
            if c.fingerprint == fingerprint and c.revoked_at is None:
                return c.device_id
        return None

    async def put(self, c: DeviceCredential) -> None:
        holder = await self.active_device_with_key(c.fingerprint)
        if c.revoked_at is None and holder not in (None, c.device_id):
            raise AlreadyExists("fingerprint")
        self.rows[c.device_id] = c

    async def revoke(self, device_id: uuid.UUID, at: datetime) -> None:
        self.rows[device_id] = replace(self.rows[device_id], revoked_at=at)

    async def record_token_timestamp(self, device_id: uuid.UUID, timestamp: int) -> None:
        self.timestamps[device_id] = timestamp

    async def last_token_timestamp(self, device_id: uuid.UUID) -> int:
        return self.timestamps.get(device_id, 0)


class FakeConnectorPrinters:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, tuple[uuid.UUID, int, list[uuid.UUID]]] = {}

    async def put(
        self,
        connector_id: uuid.UUID,
        tenant_id: uuid.UUID,
        revision: int,
        printer_ids: Sequence[uuid.UUID],
    ) -> bool:
        stored = self.rows.get(connector_id)
        if stored is not None and stored[1] >= revision:
            return False
        self.rows[connector_id] = (tenant_id, revision, list(printer_ids))
        return True

    async def bridges(
        self, connector_id: uuid.UUID, tenant_id: uuid.UUID, printer_id: uuid.UUID
    ) -> bool:
        stored = self.rows.get(connector_id)
        return stored is not None and stored[0] == tenant_id and printer_id in stored[2]


class FakePhoneKeys:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, PhoneKey] = {}

    async def insert(self, k: PhoneKey) -> None:
        if any(o.fingerprint == k.fingerprint and o.revoked_at is None for o in self.rows.values()):
            raise AlreadyExists("public_key")
        self.rows[k.id] = k

    async def get(self, key_id: uuid.UUID, *, for_update: bool = False) -> PhoneKey | None:
        return self.rows.get(key_id)

    async def of_user(self, user_id: uuid.UUID) -> list[PhoneKey]:
        mine = [k for k in self.rows.values() if k.user_id == user_id]
        return sorted(mine, key=lambda k: (k.created_at, k.id))

    async def count_active(self, user_id: uuid.UUID) -> int:
        return sum(1 for k in self.rows.values() if k.user_id == user_id and k.revoked_at is None)

    async def revoke(
        self, user_id: uuid.UUID, at: datetime, key_id: uuid.UUID | None = None
    ) -> None:
        for k in list(self.rows.values()):
            if k.user_id == user_id and k.revoked_at is None and key_id in (None, k.id):
                self.rows[k.id] = replace(k, revoked_at=at)

    async def touch(self, key_id: uuid.UUID, at: datetime) -> None:
        self.rows[key_id] = replace(self.rows[key_id], last_used_at=at)


class FakeLoginChallenges:
    def __init__(self) -> None:
        self.rows: dict[bytes, LoginChallenge] = {}
        self.locked_printers: list[uuid.UUID] = []

    async def insert(self, c: LoginChallenge) -> None:
        self.rows[c.challenge_hash] = c

    async def get(
        self, challenge_hash: bytes, *, for_update: bool = False
    ) -> LoginChallenge | None:
        return self.rows.get(challenge_hash)

    async def count_failure(self, challenge_hash: bytes) -> None:
        c = self.rows[challenge_hash]
        self.rows[challenge_hash] = replace(c, failures=c.failures + 1)

    async def use(
        self, challenge_hash: bytes, at: datetime, key_id: uuid.UUID, session_id: uuid.UUID
    ) -> None:
        c = self.rows[challenge_hash]
        self.rows[challenge_hash] = replace(c, used_at=at, key_id=key_id, session_id=session_id)

    async def purge(self, expired_before: datetime) -> int:
        gone = [h for h, c in self.rows.items() if c.expires_at < expired_before]
        for h in gone:
            del self.rows[h]
        return len(gone)

    async def lock_printer(self, printer_id: uuid.UUID) -> None:
        self.locked_printers.append(printer_id)


class FakePasskeys:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Passkey] = {}

    async def insert(self, k: Passkey) -> None:
        if any(o.credential_id == k.credential_id for o in self.rows.values()):
            raise AlreadyExists("credential")
        self.rows[k.id] = k

    async def by_credential(self, credential_id: bytes) -> Passkey | None:
        return next((k for k in self.rows.values() if k.credential_id == credential_id), None)

    async def of_user(self, user_id: uuid.UUID) -> list[Passkey]:
        mine = [k for k in self.rows.values() if k.user_id == user_id]
        return sorted(mine, key=lambda k: (k.created_at, k.id))

    async def used(self, passkey_id: uuid.UUID, sign_count: int, at: datetime) -> None:
        self.rows[passkey_id] = replace(
            self.rows[passkey_id], sign_count=sign_count, last_used_at=at
        )

    async def revoke(self, user_id: uuid.UUID, passkey_id: uuid.UUID, at: datetime) -> bool:
        k = self.rows.get(passkey_id)
        if k is None or k.user_id != user_id or k.revoked_at is not None:
            return False
        self.rows[passkey_id] = replace(k, revoked_at=at)
        return True


class FakePasskeyChallenges:
    def __init__(self) -> None:
        self.rows: dict[bytes, PasskeyChallenge] = {}

    async def insert(self, c: PasskeyChallenge) -> None:
        self.rows[c.challenge_hash] = c

    async def take(self, challenge_hash: bytes, at: datetime) -> PasskeyChallenge | None:
        c = self.rows.get(challenge_hash)
        if c is None or c.used_at is not None:
            return None
        self.rows[challenge_hash] = replace(c, used_at=at)
        return c


class FakeIdentityProviders:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Any] = {}

    async def put(self, p: Any, kek: Any) -> None:
        self.rows[p.tenant_id] = p

    async def get(self, tenant_id: uuid.UUID, kek: Any) -> Any:
        return self.rows.get(tenant_id)

    async def delete(self, tenant_id: uuid.UUID) -> bool:
        return self.rows.pop(tenant_id, None) is not None


class FakeUserIdentities:
    def __init__(self) -> None:
        self.rows: dict[tuple[uuid.UUID, str, str], tuple[uuid.UUID, tuple[str, ...]]] = {}

    async def user_of(self, tenant_id: uuid.UUID, issuer: str, subject: str) -> uuid.UUID | None:
        found = self.rows.get((tenant_id, issuer, subject))
        return found[0] if found else None

    async def signed_in(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, identity: Any, at: datetime
    ) -> None:
        self.rows[(tenant_id, identity.issuer, identity.subject)] = (user_id, identity.groups)


class FakeGroups:
    def __init__(self, users: FakeUsers) -> None:
        self.rows: dict[uuid.UUID, Group] = {}
        self.users = users

    def _name_taken(self, g: Group) -> bool:
        return any(
            o.id != g.id and o.tenant_id == g.tenant_id and o.name.lower() == g.name.lower()
            for o in self.rows.values()
        )

    async def insert(self, g: Group) -> Group:
        if self._name_taken(g):
            raise AlreadyExists("name")
        self.rows[g.id] = g
        return g

    async def get(self, group_id: uuid.UUID, *, for_update: bool = False) -> Group | None:
        return self.rows.get(group_id)

    async def by_names(
        self, tenant_id: uuid.UUID, names: list[str], *, for_update: bool = False
    ) -> dict[str, Group]:
        wanted = {n.lower() for n in names}
        return {
            g.name.lower(): g
            for g in self.rows.values()
            if g.tenant_id == tenant_id and g.name.lower() in wanted
        }

    async def save(self, g: Group) -> None:
        if self._name_taken(g):
            raise AlreadyExists("name")
        self.rows[g.id] = g

    async def delete(self, group_id: uuid.UUID) -> None:
        self.rows.pop(group_id, None)

    async def lock_tenant(self, tenant_id: uuid.UUID) -> None:
        return None

    async def memberships(self, tenant_id: uuid.UUID) -> dict[uuid.UUID, Membership]:
        return {g.id: g.membership for g in self.rows.values() if g.tenant_id == tenant_id}

    async def holding(
        self, tenant_id: uuid.UUID, *, user_id: uuid.UUID | None = None,
        group_id: uuid.UUID | None = None,
    ) -> list[Group]:  # fmt: skip
        return sorted(
            (
                g
                for g in self.rows.values()
                if g.tenant_id == tenant_id
                and (user_id in g.member_user_ids or group_id in g.member_group_ids)
            ),
            key=lambda g: g.id,
        )

    async def list(
        self, *, tenant_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> list[Group]:
        found = sorted(
            (g for g in self.rows.values() if tenant_id is None or g.tenant_id == tenant_id),
            key=lambda g: g.id,
        )
        return [g for g in found if after is None or g.id > after][:limit]

    async def existing_users(
        self, tenant_id: uuid.UUID, user_ids: list[uuid.UUID]
    ) -> set[uuid.UUID]:
        return {
            u for u in user_ids
            if (user := self.users.rows.get(u)) is not None and user.tenant_id == tenant_id
            and u not in self.users.deleted
        }  # fmt: skip


class FakeAuthRepository:
    """Every table of auth's schema, in memory."""

    def __init__(self) -> None:
        self.users = FakeUsers()
        self.tokens = FakeApiTokens(self.users)
        self.signing_keys = FakeSigningKeys()
        self.credentials = FakeDeviceCredentials()
        self.connectors = FakeConnectorPrinters()
        self.phone_keys = FakePhoneKeys()
        self.challenges = FakeLoginChallenges()
        self.passkeys = FakePasskeys()
        self.passkey_challenges = FakePasskeyChallenges()
        self.identity_providers = FakeIdentityProviders()
        self.identities = FakeUserIdentities()
        self.groups = FakeGroups(self.users)
