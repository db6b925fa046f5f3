"""Auth's domain rules: scopes by role, user shapes, API token secrets, the key schedule."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.auth.domain.errors import InvalidScope
from services.auth.domain.keys import KeySlot, expired_keys, rotation_due, signing_key
from services.auth.domain.model import (
    ALL_SCOPES,
    API_TOKEN_PATTERN,
    ApiToken,
    User,
    access_claims,
    check_token_scopes,
    check_user_shape,
    granted_scopes,
    hash_api_token,
    new_api_token_secret,
    normalise_email,
)
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing, MissingKeyEncryptionKey
from shared.crypto.sealing import new_key_text
from shared.errors import ValidationFailed
from shared.http.auth import SCOPES

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _user(roles: set[str], tenant: uuid.UUID | None = None, kind: str = "person") -> User:
    return User(
        id=uuid.uuid4(),
        tenant_id=tenant if tenant or kind == "service" else uuid.uuid4(),
        kind=kind,  # type: ignore[arg-type]
        email="a@example.com" if kind == "person" else None,
        display_name="A",
        roles=frozenset(roles),
        disabled=False,
        revision=1,
        created_at=NOW,
        updated_at=NOW,
    )


def _token(scopes: set[str], **kw: object) -> ApiToken:
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "user_id": uuid.uuid4(),
        "tenant_id": None,
        "name": "t",
        "scopes": frozenset(scopes),
        "created_at": NOW,
        "expires_at": None,
        "revoked_at": None,
        **kw,
    }
    return ApiToken(**fields)  # type: ignore[arg-type]


def test_the_scope_vocabulary_is_the_shared_one() -> None:
    assert frozenset(SCOPES) == ALL_SCOPES


def test_scopes_follow_roles() -> None:
    assert _user({"user"}).grantable_scopes() == {"printers:read", "jobs:read", "jobs:submit"}
    assert "devices:verify" not in _user({"admin"}).grantable_scopes()
    assert _user(set(), kind="service").grantable_scopes() == {"devices:verify"}
    check_token_scopes(_user({"admin"}), ["users:write"], creator=None)
    with pytest.raises(ValidationFailed):
        check_token_scopes(_user({"user"}), ["printers:write"], creator=None)
    with pytest.raises(ValidationFailed, match="may not carry"):
        check_token_scopes(_user({"admin"}), ["users:write"], creator=frozenset({"users:read"}))


def test_granted_scopes_narrow_and_follow_current_roles() -> None:
    user = _user({"user"})
    token = _token({"printers:read", "jobs:submit", "users:read"})
    assert granted_scopes(token, user, None) == {"printers:read", "jobs:submit"}
    assert granted_scopes(token, user, "jobs:submit") == {"jobs:submit"}
    with pytest.raises(InvalidScope):
        granted_scopes(token, user, "users:read")
    with pytest.raises(InvalidScope):
        granted_scopes(_token({"users:read"}), user, None)


def test_user_shapes() -> None:
    check_user_shape(uuid.uuid4(), "person", "a@b.co", ["admin"])
    check_user_shape(None, "service", None, [])
    cases: list[tuple[uuid.UUID | None, str, str | None, list[str]]] = [
        (uuid.uuid4(), "person", None, []),
        (uuid.uuid4(), "service", "a@b.co", []),
        (None, "person", "a@b.co", []),
        (None, "service", None, ["admin"]),
    ]
    for args in cases:
        with pytest.raises(ValidationFailed):
            check_user_shape(*args)
    assert normalise_email(" Ada.Lovelace@Example.COM ") == "Ada.Lovelace@example.com"


def test_user_updates_count_revisions_and_name_changes() -> None:
    user = _user({"user"})
    same, changed = user.updated({"roles": ["user"], "display_name": "A"}, NOW)
    assert same is user and changed == []
    after, changed = user.updated({"roles": ["admin"], "disabled": True}, NOW + timedelta(1))
    assert (after.revision, changed, after.roles) == (
        2,
        ["disabled", "roles"],
        frozenset({"admin"}),
    )
    with pytest.raises(ValidationFailed):
        user.updated({"email": None}, NOW)  # a person keeps an email
    with pytest.raises(ValidationFailed):
        user.updated({"display_name": None}, NOW)


def test_api_token_secrets() -> None:
    secret = new_api_token_secret()
    assert re.fullmatch(API_TOKEN_PATTERN, secret) and secret != new_api_token_secret()
    assert len(hash_api_token(secret)) == 32 and hash_api_token(secret) == hash_api_token(secret)
    assert _token(set()).usable(NOW)
    assert not _token(set(), revoked_at=NOW).usable(NOW)
    assert not _token(set(), expires_at=NOW).usable(NOW)


def test_access_claims() -> None:
    user, token = _user({"admin"}), _token({"users:read"})
    claims = access_claims(
        user,
        token,
        frozenset({"users:read", "printers:read"}),
        now=NOW,
        ttl=timedelta(minutes=15),
        issuer="i",
        audience="a",
    )
    assert claims["exp"] - claims["iat"] == 900 and claims["nbf"] == claims["iat"]
    assert (claims["sub"], claims["client_id"]) == (str(user.id), str(token.id))
    assert claims["scope"] == "printers:read users:read" and claims["roles"] == ["admin"]


def _slot(kid: str, created: int, activates: int | None = None) -> KeySlot:
    at = NOW + timedelta(minutes=created)
    return KeySlot(
        kid, at, NOW + timedelta(minutes=activates if activates is not None else created)
    )


def test_the_newest_active_key_signs_and_a_prepublished_one_waits() -> None:
    keys = [_slot("a", 0), _slot("b", 10, 20)]
    assert signing_key([], NOW) is None
    assert signing_key(keys, NOW + timedelta(minutes=15)).kid == "a"  # type: ignore[union-attr]
    assert signing_key(keys, NOW + timedelta(minutes=20)).kid == "b"  # type: ignore[union-attr]


def test_rotation_is_due_when_the_newest_key_is_old() -> None:
    period = timedelta(days=30)
    assert rotation_due([], NOW, period)
    keys = [_slot("a", 0)]
    assert not rotation_due(keys, NOW + period - timedelta(seconds=1), period)
    assert rotation_due(keys, NOW + period, period)


def test_a_superseded_key_stays_until_its_tokens_expired() -> None:
    keep = timedelta(minutes=16)  # 15 min tokens + 1 min leeway
    keys = [_slot("a", 0), _slot("b", 60, 70), _slot("c", 100, 110)]
    assert expired_keys(keys, NOW + timedelta(minutes=85), keep) == []
    assert expired_keys(keys, NOW + timedelta(minutes=86), keep) == ["a"]
    assert expired_keys(keys, NOW + timedelta(minutes=126), keep) == ["a", "b"]
    assert expired_keys(keys[1:2], NOW + timedelta(days=999), keep) == []


def test_auth_refuses_to_sign_without_a_valid_key_encryption_key() -> None:
    dsn = "postgresql://x:y@127.0.0.1:1/db"
    for kek in (None, "too-short"):
        with pytest.raises(MissingKeyEncryptionKey, match="PRINTCLOUD_AUTH_KEY_ENCRYPTION_KEY"):
            KeyRing.from_settings(AuthSettings(database_url=dsn, key_encryption_key=kek))
    ring = KeyRing.from_settings(AuthSettings(database_url=dsn, key_encryption_key=new_key_text()))
    assert ring.keep_after_succession == timedelta(seconds=900 + 30)
