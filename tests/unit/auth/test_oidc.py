"""Sign-in with a tenant's identity provider, without I/O: claims map to roles (a list,
one string, a nested claim, the default role, none), a person is provisioned on first
sign-in and kept in step afterwards, and an ID token verifies only with the provider's
key, issuer, client, nonce and lifetime."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from authlib.jose import JsonWebKey, jwt

from services.auth.domain.errors import SignInRefused
from services.auth.domain.events import GroupCreated, GroupUpdated, UserCreated, UserUpdated
from services.auth.domain.oidc import (
    IdentityProvider,
    check_provider_shape,
    claim_values,
    identity_of,
    provisioned,
    roles_from_claims,
)
from services.auth.handlers import oidc
from services.auth.handlers.oidc import verify_id_token
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.crypto.sealing import new_key_text
from shared.errors import ValidationFailed
from shared.http.auth import parse_jwks, verify_access_token
from shared.testing.uow import InMemoryTransactions
from tests.support.fakes.auth import FakeAuthRepository

TENANT = uuid.uuid4()
NOW = datetime(2026, 12, 7, tzinfo=UTC)
ISSUER = "http://127.0.0.1:9400"
PROVIDER = IdentityProvider(
    tenant_id=TENANT, issuer=ISSUER, client_id="portal", client_secret="s3cret",
    role_claim="groups", role_map={"print-admins": "admin", "staff": "user"},
    default_role=None, group_claim="groups", updated_at=NOW,
)  # fmt: skip


def test_claim_values_read_lists_strings_and_nested_claims() -> None:
    claims = {"groups": ["a", 3, "b"], "role": "admin", "realm": {"roles": ["x"]}}
    assert claim_values(claims, "groups") == ["a", "b"]
    assert claim_values(claims, "role") == ["admin"]
    assert claim_values(claims, "realm.roles") == ["x"]
    assert claim_values(claims, "realm.missing") == []
    assert claim_values(claims, None) == []


def test_roles_map_from_the_role_claim() -> None:
    assert roles_from_claims(PROVIDER, {"groups": ["staff"]}) == {"user"}
    assert roles_from_claims(PROVIDER, {"groups": ["staff", "print-admins"]}) == {"user", "admin"}


def test_no_mapped_role_refuses_unless_the_provider_has_a_default() -> None:
    with pytest.raises(SignInRefused, match="grants no role"):
        roles_from_claims(PROVIDER, {"groups": ["visitors"]})
    with_default = IdentityProvider(**{**PROVIDER.__dict__, "default_role": "user"})
    assert roles_from_claims(with_default, {}) == {"user"}


def test_provider_shape_names_each_bad_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_provider_shape("http://idp.example.com", " ", {"x": "root"}, "owner")
    fields = {e.field for e in caught.value.errors}
    assert fields == {"issuer", "client_id", "role_map.x", "default_role"}
    check_provider_shape("https://idp.example.com/realms/a", "portal", {"x": "admin"}, None)
    check_provider_shape(ISSUER, "portal", {}, "user")


def test_identity_needs_a_subject_and_an_email() -> None:
    identity = identity_of(PROVIDER, {"sub": "42", "email": "Ann@Example.COM",
                                      "name": "Ann", "groups": ["staff"]})  # fmt: skip
    assert (identity.subject, identity.email, identity.display_name) == (
        "42",
        "Ann@example.com",
        "Ann",
    )
    assert identity.groups == ("staff",)
    with pytest.raises(SignInRefused, match="subject"):
        identity_of(PROVIDER, {"email": "a@b.c"})
    with pytest.raises(SignInRefused, match="email"):
        identity_of(PROVIDER, {"sub": "42"})


def test_first_sign_in_provisions_a_person_later_ones_follow_the_provider() -> None:
    identity = identity_of(PROVIDER, {"sub": "42", "email": "ann@example.com"})
    user = provisioned(None, TENANT, identity, frozenset({"user"}), NOW)
    assert (user.tenant_id, user.kind, user.roles) == (TENANT, "person", {"user"})
    assert user.email == "ann@example.com"
    assert provisioned(user, TENANT, identity, frozenset({"user"}), NOW) is user
    promoted = provisioned(user, TENANT, identity, frozenset({"admin"}), NOW)
    assert (promoted.id, promoted.roles, promoted.revision) == (user.id, {"admin"}, 2)


# --------------------------------------------------------------------------- ID tokens

KEY = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "k1"})
JWKS = {"keys": [KEY.as_dict(is_private=False)]}


def _token(key: Any = KEY, **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "portal", "sub": "42", "nonce": "n-1",
              "iat": now, "exp": now + 300, **changes}  # fmt: skip
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {"alg": "RS256", "kid": key.as_dict()["kid"]}
    return jwt.encode(header, claims, key).decode()


def _verify(token: str) -> dict[str, Any]:
    return verify_id_token(token, JWKS, issuer=ISSUER, client_id="portal", nonce="n-1")


def test_a_good_id_token_verifies() -> None:
    assert _verify(_token())["sub"] == "42"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iss": "http://127.0.0.1:9401"}, "another issuer"),
        ({"nonce": "n-2"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"aud": "someone-else"}, "another client"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"aud": ["portal", "other"], "azp": "other"}, "azp"),
    ],
)
def test_a_wrong_claim_is_refused_with_its_reason(changes: dict[str, Any], reason: str) -> None:
    with pytest.raises(SignInRefused, match=reason):
        _verify(_token(**changes))


def test_another_key_or_a_secret_signed_token_is_refused() -> None:
    other = JsonWebKey.generate_key("RSA", 2048, is_private=True, options={"kid": "k1"})
    with pytest.raises(SignInRefused, match="signature"):
        _verify(_token(other))
    claims = {"iss": ISSUER, "aud": "portal", "sub": "42", "nonce": "n-1", "iat": 1, "exp": 2**40}
    hs = jwt.encode({"alg": "HS256"}, claims, "s3cret")
    with pytest.raises(SignInRefused):
        _verify(hs.decode())
    with pytest.raises(SignInRefused, match="not a JWT"):
        _verify("not-a-token")


# --------------------------------------------------------------------------- provisioning

SETTINGS = AuthSettings(
    database_url="postgresql://x:y@127.0.0.1:1/db", key_encryption_key=new_key_text()
)
Tx = InMemoryTransactions[FakeAuthRepository]


@pytest.fixture
def tx() -> Tx:
    return InMemoryTransactions(FakeAuthRepository())


async def _ring(tx: Tx) -> KeyRing:
    ring = KeyRing.from_settings(SETTINGS)
    await ring.rotate(tx.repo.signing_keys, force=True)
    return ring


async def test_first_sign_in_creates_the_person_with_mapped_roles_and_a_token(tx: Tx) -> None:
    ring = await _ring(tx)
    claims = {"sub": "42", "email": "ann@example.com", "name": "Ann", "groups": ["staff"]}
    user, issued = await oidc.sign_in_with_claims(tx, ring, PROVIDER, claims, SETTINGS)
    assert (user.tenant_id, user.roles, user.display_name) == (TENANT, {"user"}, "Ann")
    created, staff = tx.announced()
    assert isinstance(created, UserCreated) and created.user_id == user.id
    # The group claim fills a group of the identity provider's, made on first use.
    assert isinstance(staff, GroupCreated) and staff.source == "identity_provider"
    assert (staff.name, staff.member_user_ids) == ("staff", [user.id])
    keys = parse_jwks(await ring.jwks(tx.repo.signing_keys))
    who = verify_access_token(issued.jwt, next(iter(keys.values())), issuer=SETTINGS.auth_issuer,
                              audience=SETTINGS.auth_audience, leeway_s=0)  # fmt: skip
    assert who.subject == str(user.id) and who.roles == {"user"}
    assert tx.repo.identities.rows[(TENANT, ISSUER, "42")] == (user.id, ("staff",))


async def test_later_sign_ins_find_the_same_person_and_follow_their_roles(tx: Tx) -> None:
    ring = await _ring(tx)
    claims: dict[str, Any] = {"sub": "42", "email": "ann@example.com", "groups": ["staff"]}
    first, _ = await oidc.sign_in_with_claims(tx, ring, PROVIDER, claims, SETTINGS)
    again, _ = await oidc.sign_in_with_claims(tx, ring, PROVIDER, claims, SETTINGS)
    assert again == first and len(tx.announced()) == 2
    claims["groups"] = ["print-admins"]
    promoted, _ = await oidc.sign_in_with_claims(tx, ring, PROVIDER, claims, SETTINGS)
    assert promoted.id == first.id and promoted.roles == {"admin"}
    updated = tx.announced(UserUpdated)
    assert len(updated) == 1 and updated[0].changed == ["roles"]
    (left,) = tx.announced(GroupUpdated)
    assert left.name == "staff" and left.member_user_ids == []


async def test_an_email_taken_by_another_user_or_a_disabled_user_is_refused(tx: Tx) -> None:
    ring = await _ring(tx)
    ann = {"sub": "42", "email": "ann@example.com", "groups": ["staff"]}
    user, _ = await oidc.sign_in_with_claims(tx, ring, PROVIDER, ann, SETTINGS)
    other = {**ann, "sub": "43"}
    with pytest.raises(SignInRefused, match="exists here already"):
        await oidc.sign_in_with_claims(tx, ring, PROVIDER, other, SETTINGS)
    tx.repo.users.rows[user.id] = replace(user, disabled=True)
    with pytest.raises(SignInRefused, match="disabled"):
        await oidc.sign_in_with_claims(tx, ring, PROVIDER, ann, SETTINGS)
    assert len(tx.announced(UserCreated)) == 1 and len(tx.announced()) == 2
