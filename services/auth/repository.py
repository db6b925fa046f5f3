"""SQL for the auth service's own schema."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from services.auth.domain.keys import KeySlot
from services.auth.domain.model import (
    ApiToken,
    DeviceCredential,
    LoginChallenge,
    PhoneKey,
    User,
)

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


async def record_token_timestamp(
    conn: asyncpg.Connection, device_id: uuid.UUID, timestamp: int
) -> None:
    """Remember the last timestamp a device signed for a device access token."""
    await conn.execute(
        "UPDATE device_credentials SET last_token_timestamp = $2 WHERE device_id = $1",
        device_id,
        timestamp,
    )


async def last_token_timestamp(conn: asyncpg.Connection, device_id: uuid.UUID) -> int:
    """The last timestamp a device signed for a device access token (0: none yet)."""
    stamp: int | None = await conn.fetchval(
        "SELECT last_token_timestamp FROM device_credentials WHERE device_id = $1", device_id
    )
    return stamp or 0


# --------------------------------------------------------------------------- connectors


async def put_connector_printers(
    conn: asyncpg.Connection,
    connector_id: uuid.UUID,
    tenant_id: uuid.UUID,
    revision: int,
    printer_ids: Sequence[uuid.UUID],
) -> bool:
    """Replace a connector's printers unless a newer revision is stored; True if applied."""
    applied: uuid.UUID | None = await conn.fetchval(
        """
        INSERT INTO connector_printers (connector_id, tenant_id, revision, printer_ids)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (connector_id) DO UPDATE SET
            tenant_id = excluded.tenant_id, revision = excluded.revision,
            printer_ids = excluded.printer_ids
        WHERE connector_printers.revision < excluded.revision
        RETURNING connector_id
        """,
        connector_id,
        tenant_id,
        revision,
        list(printer_ids),
    )
    return applied is not None


async def connector_bridges(
    conn: asyncpg.Connection, connector_id: uuid.UUID, tenant_id: uuid.UUID, printer_id: uuid.UUID
) -> bool:
    """Whether the connector, of that tenant, bridges the printer now."""
    found: bool = await conn.fetchval(
        """
        SELECT EXISTS (SELECT 1 FROM connector_printers
                       WHERE connector_id = $1 AND tenant_id = $2 AND $3 = ANY (printer_ids))
        """,
        connector_id,
        tenant_id,
        printer_id,
    )
    return found


# --------------------------------------------------------------------------- phone keys

_PHONE_KEY_COLUMNS = (
    "id, user_id, tenant_id, label, algorithm, public_key, fingerprint, created_at, "
    "last_used_at, revoked_at"
)


def _phone_key(row: asyncpg.Record) -> PhoneKey:
    return PhoneKey(**{**dict(row), "public_key": bytes(row["public_key"])})


async def insert_phone_key(conn: asyncpg.Connection, k: PhoneKey) -> None:
    """Insert a phone key; UniqueViolationError if the key is active for anyone already."""
    await conn.execute(
        f"""
        INSERT INTO phone_keys ({_PHONE_KEY_COLUMNS})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        """,
        k.id,
        k.user_id,
        k.tenant_id,
        k.label,
        k.algorithm,
        k.public_key,
        k.fingerprint,
        k.created_at,
        k.last_used_at,
        k.revoked_at,
    )


async def get_phone_key(
    conn: asyncpg.Connection, key_id: uuid.UUID, *, for_update: bool = False
) -> PhoneKey | None:
    """A phone key (active or revoked); ``for_update`` locks its row."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_PHONE_KEY_COLUMNS} FROM phone_keys WHERE id = $1{lock}", key_id
    )
    return _phone_key(row) if row else None


async def list_phone_keys(conn: asyncpg.Connection, user_id: uuid.UUID) -> list[PhoneKey]:
    """A user's phone keys, oldest first, revoked ones included."""
    rows = await conn.fetch(
        f"SELECT {_PHONE_KEY_COLUMNS} FROM phone_keys WHERE user_id = $1 ORDER BY created_at, id",
        user_id,
    )
    return [_phone_key(r) for r in rows]


async def count_active_phone_keys(conn: asyncpg.Connection, user_id: uuid.UUID) -> int:
    """How many phone keys of the user are not revoked."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM phone_keys WHERE user_id = $1 AND revoked_at IS NULL", user_id
    )
    return count


async def revoke_phone_keys(
    conn: asyncpg.Connection, user_id: uuid.UUID, at: datetime, key_id: uuid.UUID | None = None
) -> None:
    """Revoke one active phone key of a user, or all of them."""
    await conn.execute(
        """
        UPDATE phone_keys SET revoked_at = $2
        WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id = $3)
        """,
        user_id,
        at,
        key_id,
    )


async def touch_phone_key(conn: asyncpg.Connection, key_id: uuid.UUID, at: datetime) -> None:
    """Record that a phone key approved a login."""
    await conn.execute("UPDATE phone_keys SET last_used_at = $2 WHERE id = $1", key_id, at)


# --------------------------------------------------------------------------- login challenges

_CHALLENGE_COLUMNS = (
    "challenge_hash, tenant_id, printer_id, device_id, created_at, expires_at, failures, "
    "used_at, key_id, session_id"
)


async def insert_challenge(conn: asyncpg.Connection, c: LoginChallenge) -> None:
    """Store a new login challenge (its hash)."""
    await conn.execute(
        f"""
        INSERT INTO login_challenges ({_CHALLENGE_COLUMNS})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        """,
        c.challenge_hash,
        c.tenant_id,
        c.printer_id,
        c.device_id,
        c.created_at,
        c.expires_at,
        c.failures,
        c.used_at,
        c.key_id,
        c.session_id,
    )


async def get_challenge(
    conn: asyncpg.Connection, challenge_hash: bytes, *, for_update: bool = False
) -> LoginChallenge | None:
    """A login challenge by its hash; ``for_update`` locks its row."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {_CHALLENGE_COLUMNS} FROM login_challenges WHERE challenge_hash = $1{lock}",
        challenge_hash,
    )
    if row is None:
        return None
    return LoginChallenge(**{**dict(row), "challenge_hash": bytes(row["challenge_hash"])})


async def count_challenge_failure(conn: asyncpg.Connection, challenge_hash: bytes) -> None:
    """One more failed attempt at a challenge."""
    await conn.execute(
        "UPDATE login_challenges SET failures = failures + 1 WHERE challenge_hash = $1",
        challenge_hash,
    )


async def use_challenge(
    conn: asyncpg.Connection,
    challenge_hash: bytes,
    at: datetime,
    key_id: uuid.UUID,
    session_id: uuid.UUID,
) -> None:
    """Mark a challenge used by a key for a session."""
    await conn.execute(
        """
        UPDATE login_challenges SET used_at = $2, key_id = $3, session_id = $4
        WHERE challenge_hash = $1
        """,
        challenge_hash,
        at,
        key_id,
        session_id,
    )


async def purge_challenges(conn: asyncpg.Connection, expired_before: datetime) -> int:
    """Delete challenges that expired before ``expired_before``; how many went."""
    status = await conn.execute(
        "DELETE FROM login_challenges WHERE expires_at < $1", expired_before
    )
    return int(status.split()[-1])


async def lock_printer_logins(conn: asyncpg.Connection, printer_id: uuid.UUID) -> None:
    """Serialise approvals at one printer (its events keep their commit order)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('printcloud.login:' || $1::uuid, 0))",
        printer_id,
    )
