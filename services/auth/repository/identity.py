"""SQL for tenants' identity providers and the people they signed in."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import asyncpg

from services.auth.domain.oidc import Identity, IdentityProvider
from shared.crypto.sealing import KeyEncryptionKey

_COLUMNS = (
    "tenant_id, issuer, client_id, client_secret_sealed, role_claim, role_map, default_role, "
    "group_claim, updated_at"
)


def _aad(tenant_id: uuid.UUID) -> bytes:
    return b"identity-provider:" + tenant_id.bytes


class IdentityProviders:
    """One identity provider per tenant; the client secret is sealed at rest."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def put(self, p: IdentityProvider, kek: KeyEncryptionKey) -> None:
        """Insert or replace the tenant's provider."""
        sealed = kek.seal(p.client_secret.encode(), _aad(p.tenant_id))
        await self.conn.execute(
            f"INSERT INTO identity_providers ({_COLUMNS}) "
            "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9) "
            "ON CONFLICT (tenant_id) DO UPDATE SET issuer = $2, client_id = $3, "
            "client_secret_sealed = $4, role_claim = $5, role_map = $6::jsonb, "
            "default_role = $7, group_claim = $8, updated_at = $9",
            p.tenant_id, p.issuer, p.client_id, sealed, p.role_claim, json.dumps(dict(p.role_map)),
            p.default_role, p.group_claim, p.updated_at,
        )  # fmt: skip

    async def get(self, tenant_id: uuid.UUID, kek: KeyEncryptionKey) -> IdentityProvider | None:
        """The tenant's provider with its secret opened, or None."""
        row = await self.conn.fetchrow(
            f"SELECT {_COLUMNS} FROM identity_providers WHERE tenant_id = $1", tenant_id
        )
        if row is None:
            return None
        values = dict(row)
        secret = kek.open(bytes(values.pop("client_secret_sealed")), _aad(tenant_id)).decode()
        role_map = json.loads(values.pop("role_map"))
        return IdentityProvider(**values, client_secret=secret, role_map=role_map)

    async def delete(self, tenant_id: uuid.UUID) -> bool:
        """Remove the tenant's provider; False when it had none."""
        done = await self.conn.execute(
            "DELETE FROM identity_providers WHERE tenant_id = $1", tenant_id
        )
        return bool(done.endswith(" 1"))


class UserIdentities:
    """Which user an identity provider's subject is, per tenant."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def user_of(self, tenant_id: uuid.UUID, issuer: str, subject: str) -> uuid.UUID | None:
        """The user the subject signed in as before, its row locked; None the first time."""
        value = await self.conn.fetchval(
            "SELECT user_id FROM user_identities "
            "WHERE tenant_id = $1 AND issuer = $2 AND subject = $3 FOR UPDATE",
            tenant_id, issuer, subject,
        )  # fmt: skip
        return value if isinstance(value, uuid.UUID) else None

    async def signed_in(
        self, tenant_id: uuid.UUID, user_id: uuid.UUID, identity: Identity, at: datetime
    ) -> None:
        """Link the subject to the user (first time) and keep this sign-in's groups."""
        await self.conn.execute(
            "INSERT INTO user_identities "
            "(issuer, subject, user_id, tenant_id, groups, created_at, last_sign_in) "
            "VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (tenant_id, issuer, subject) "
            "DO UPDATE SET groups = $5, last_sign_in = $6",
            identity.issuer, identity.subject, user_id, tenant_id, list(identity.groups), at,
        )  # fmt: skip
