"""SQL for the auth service's own schema."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.auth.domain.keys import KeySlot
from services.auth.domain.model import ApiToken, DeviceCredential, User

_USER_COLUMNS = (
    "id, tenant_id, kind, email, display_name, roles, disabled, revision, created_at, updated_at"
)
_TOKEN_COLUMNS = (
    "id, user_id, tenant_id, name, scopes, created_at, expires_at, revoked_at, last_used_at"
)
_CREDENTIAL_COLUMNS = (
    "device_id, tenant_id, subject_type, subject_id, public_key, key_algorithm, fingerprint, "
    "model, claimed_at, issued_at, revoked_at"
)


def _user(row: asyncpg.Record) -> User:
    return User(**{**dict(row), "roles": frozenset(row["roles"])})


def _token(row: asyncpg.Record) -> ApiToken:
    return ApiToken(**{**dict(row), "scopes": frozenset(row["scopes"])})


# --------------------------------------------------------------------------- users


async def insert_user(conn: asyncpg.Connection, u: User) -> User:
    """Insert a user; UniqueViolationError if the email is taken in the tenant."""
    row = await conn.fetchrow(
        f"""
        INSERT INTO users (id, tenant_id, kind, email, display_name, roles, disabled,
                           created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {_USER_COLUMNS}
        """,
        u.id,
        u.tenant_id,
        u.kind,
        u.email,
        u.display_name,
        sorted(u.roles),
        u.disabled,
        u.created_at,
    )
    return _user(row)


async def get_user(
    conn: asyncpg.Connection, user_id: uuid.UUID, *, for_update: bool = False
) -> User | None:
    """A user that is not deleted; ``for_update`` locks its row."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL{lock}", user_id
    )
    return _user(row) if row else None


async def save_user(conn: asyncpg.Connection, u: User) -> None:
    """Write a user's mutable fields back; UniqueViolationError on a taken email."""
    await conn.execute(
        """
        UPDATE users SET email = $2, display_name = $3, roles = $4, disabled = $5,
               revision = $6, updated_at = $7
        WHERE id = $1
        """,
        u.id,
        u.email,
        u.display_name,
        sorted(u.roles),
        u.disabled,
        u.revision,
        u.updated_at,
    )


async def delete_user(conn: asyncpg.Connection, u: User, at: datetime) -> None:
    """Mark a user deleted (kept for the audit trail; its email is free again)."""
    await conn.execute(
        "UPDATE users SET deleted_at = $2, revision = $3, updated_at = $2 WHERE id = $1",
        u.id,
        at,
        u.revision,
    )


async def list_users(
    conn: asyncpg.Connection,
    *,
    tenant_id: uuid.UUID | None,
    platform: bool,
    after: uuid.UUID | None,
    limit: int,
) -> list[User]:
    """Users of one tenant, of the platform (``platform``), or all; keyset-paginated."""
    rows = await conn.fetch(
        f"""
        SELECT {_USER_COLUMNS} FROM users
        WHERE deleted_at IS NULL
          AND (CASE WHEN $1 THEN tenant_id IS NULL
                    ELSE ($2::uuid IS NULL OR tenant_id = $2) END)
          AND ($3::uuid IS NULL OR id > $3)
        ORDER BY id LIMIT $4
        """,
        platform,
        tenant_id,
        after,
        limit,
    )
    return [_user(r) for r in rows]


# --------------------------------------------------------------------------- API tokens


async def insert_token(conn: asyncpg.Connection, t: ApiToken, token_hash: bytes) -> None:
    """Store a new API token by the hash of its secret."""
    await conn.execute(
        """
        INSERT INTO api_tokens (id, user_id, tenant_id, name, token_hash, scopes, created_at,
                                expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        """,
        t.id,
        t.user_id,
        t.tenant_id,
        t.name,
        token_hash,
        sorted(t.scopes),
        t.created_at,
        t.expires_at,
    )


async def get_token(
    conn: asyncpg.Connection, token_id: uuid.UUID, *, for_update: bool = False
) -> ApiToken | None:
    """An API token by id; ``for_update`` locks its row."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE id = $1{lock}", token_id
    )
    return _token(row) if row else None


async def list_tokens(conn: asyncpg.Connection, user_id: uuid.UUID) -> list[ApiToken]:
    """A user's API tokens, revoked ones included, newest first."""
    rows = await conn.fetch(
        f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id",
        user_id,
    )
    return [_token(r) for r in rows]


async def revoke_tokens(
    conn: asyncpg.Connection, token_ids: Sequence[uuid.UUID], at: datetime
) -> list[ApiToken]:
    """Revoke the tokens not yet revoked among ``token_ids``; returns those."""
    rows = await conn.fetch(
        f"""
        UPDATE api_tokens SET revoked_at = $2
        WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL RETURNING {_TOKEN_COLUMNS}
        """,
        list(token_ids),
        at,
    )
    return [_token(r) for r in rows]


async def lock_user_tokens(conn: asyncpg.Connection, user_id: uuid.UUID) -> list[uuid.UUID]:
    """Lock a user's live tokens (in id order, as every writer does) and name them."""
    rows = await conn.fetch(
        "SELECT id FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL ORDER BY id "
        "FOR UPDATE",
        user_id,
    )
    return [r["id"] for r in rows]


async def token_by_hash(
    conn: asyncpg.Connection, token_hash: bytes
) -> tuple[ApiToken, User, bytes] | None:
    """The token with this secret hash, its live user and the stored hash."""
    row = await conn.fetchrow(
        f"""
        SELECT {", ".join("t." + c for c in _TOKEN_COLUMNS.split(", "))}, t.token_hash,
               {", ".join("u." + c + " AS u_" + c for c in _USER_COLUMNS.split(", "))}
        FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.deleted_at IS NULL
        WHERE t.token_hash = $1
        """,
        token_hash,
    )
    if row is None:
        return None
    record = dict(row)
    user = {k.removeprefix("u_"): record.pop(k) for k in list(record) if k.startswith("u_")}
    stored = record.pop("token_hash")
    token = ApiToken(**{**record, "scopes": frozenset(record["scopes"])})
    return token, User(**{**user, "roles": frozenset(user["roles"])}), bytes(stored)


async def touch_token(conn: asyncpg.Connection, token_id: uuid.UUID, at: datetime) -> None:
    """Remember when a token was last exchanged."""
    await conn.execute("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", token_id, at)


# --------------------------------------------------------------------------- signing keys

_KEYS_LOCK = int.from_bytes(
    hashlib.sha256(b"printcloud.auth.signing_keys").digest()[:8], "big", signed=True
)


async def lock_keys(conn: asyncpg.Connection) -> None:
    """Serialise key rotation across replicas until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _KEYS_LOCK)


async def key_slots(conn: asyncpg.Connection) -> list[KeySlot]:
    """Every signing key's schedule."""
    rows = await conn.fetch("SELECT kid, created_at, activates_at FROM signing_keys")
    return [KeySlot(**dict(r)) for r in rows]


async def insert_key(
    conn: asyncpg.Connection, slot: KeySlot, algorithm: str, jwk: dict[str, str], sealed: bytes
) -> None:
    """Store a new signing key (its private half already sealed)."""
    await conn.execute(
        "INSERT INTO signing_keys (kid, algorithm, public_jwk, private_key, created_at, "
        "activates_at) VALUES ($1, $2, $3, $4, $5, $6)",
        slot.kid,
        algorithm,
        jwk,
        sealed,
        slot.created_at,
        slot.activates_at,
    )


async def delete_keys(conn: asyncpg.Connection, kids: Sequence[str]) -> None:
    """Remove signing keys."""
    await conn.execute("DELETE FROM signing_keys WHERE kid = ANY($1::text[])", list(kids))


async def sealed_signing_key(conn: asyncpg.Connection, at: datetime) -> tuple[str, bytes] | None:
    """``(kid, sealed private key)`` of the key that signs at ``at``."""
    row = await conn.fetchrow(
        "SELECT kid, private_key FROM signing_keys WHERE activates_at <= $1 "
        "ORDER BY activates_at DESC, kid DESC LIMIT 1",
        at,
    )
    return (row["kid"], bytes(row["private_key"])) if row else None


async def public_keys(conn: asyncpg.Connection) -> list[tuple[KeySlot, dict[str, Any]]]:
    """Every key's schedule and public JWK."""
    rows = await conn.fetch("SELECT kid, created_at, activates_at, public_jwk FROM signing_keys")
    return [
        (KeySlot(r["kid"], r["created_at"], r["activates_at"]), dict(r["public_jwk"])) for r in rows
    ]


# --------------------------------------------------------------------------- device credentials


async def get_credential(
    conn: asyncpg.Connection, device_id: uuid.UUID, *, for_update: bool = False
) -> DeviceCredential | None:
    """A device's credential (active or revoked); ``for_update`` locks its row."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_CREDENTIAL_COLUMNS} FROM device_credentials WHERE device_id = $1{lock}",
        device_id,
    )
    return (
        DeviceCredential(**{**dict(row), "public_key": bytes(row["public_key"])}) if row else None
    )


async def active_device_with_key(conn: asyncpg.Connection, fingerprint: str) -> uuid.UUID | None:
    """The device whose active credential has this key, if any."""
    device: uuid.UUID | None = await conn.fetchval(
        "SELECT device_id FROM device_credentials WHERE fingerprint = $1 AND revoked_at IS NULL",
        fingerprint,
    )
    return device


async def put_credential(conn: asyncpg.Connection, c: DeviceCredential) -> None:
    """Insert or replace a device's credential."""
    await conn.execute(
        f"""
        INSERT INTO device_credentials ({_CREDENTIAL_COLUMNS})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
        ON CONFLICT (device_id) DO UPDATE SET
            tenant_id = excluded.tenant_id, subject_type = excluded.subject_type,
            subject_id = excluded.subject_id, public_key = excluded.public_key,
            key_algorithm = excluded.key_algorithm, fingerprint = excluded.fingerprint,
            model = excluded.model, claimed_at = excluded.claimed_at,
            issued_at = excluded.issued_at, revoked_at = excluded.revoked_at
        """,
        c.device_id,
        c.tenant_id,
        c.subject_type,
        c.subject_id,
        c.public_key,
        c.key_algorithm,
        c.fingerprint,
        c.model,
        c.claimed_at,
        c.issued_at,
        c.revoked_at,
    )


async def revoke_credential(conn: asyncpg.Connection, device_id: uuid.UUID, at: datetime) -> None:
    """Mark a device's credential revoked."""
    await conn.execute(
        "UPDATE device_credentials SET revoked_at = $2 WHERE device_id = $1", device_id, at
    )
