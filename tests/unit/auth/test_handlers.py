"""Auth's handlers against an in-memory repository: the rules, the refusals with their
codes, and what each change announces (nothing, when refused). No database, no broker."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from services.auth.domain.commands import (
    ApproveDeviceLogin,
    CreateApiToken,
    CreateUser,
    DeviceTokenRequest,
    RegisterPhoneKey,
    RequestLoginChallenge,
    TokenRequest,
    UpdateUser,
)
from services.auth.domain.events import (
    ApiTokenCreated,
    ApiTokenRevoked,
    DeviceCredentialIssued,
    DeviceCredentialRevoked,
    DeviceLoginApproved,
    UserCreated,
    UserDeleted,
    UserUpdated,
)
from services.auth.domain.model import LoginChallenge, hash_challenge
from services.auth.handlers import claims, devices, phone, tokens, users
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.crypto.device_token import device_token_request
from shared.crypto.encoding import b64url_decode, b64url_encode
from shared.crypto.keys import fingerprint, key_algorithm, spki_der
from shared.crypto.sealing import new_key_text
from shared.crypto.signatures import new_nonce
from shared.errors import DomainError, PermanentEventError
from shared.events.contracts.devices import ConnectorDevicesChanged, DeviceClaimed
from shared.http.auth import DEVICE_ROLE, DEVICE_SCOPE, Principal, parse_jwks, verify_access_token
from shared.protocols.phone import approval_request, generate_phone_key, public_key_text
from shared.testing.uow import InMemoryTransactions
from tests.support.fakes.auth import FakeAuthRepository

Tx = InMemoryTransactions[FakeAuthRepository]
TENANT, OTHER = uuid.uuid4(), uuid.uuid4()
OPERATOR = Principal("operator", None, frozenset({"operator"}))
SETTINGS = AuthSettings(
    database_url="postgresql://x:y@127.0.0.1:1/db", key_encryption_key=new_key_text()
)


def admin(tenant: uuid.UUID = TENANT) -> Principal:
    return Principal(
        "admin", tenant, frozenset({"admin"}), frozenset({"users:read", "users:write"})
    )


@pytest.fixture
def tx() -> Tx:
    return InMemoryTransactions(FakeAuthRepository())


class refused:
    """The block raises a domain error with this code."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        assert isinstance(exc, DomainError), f"expected {self.code}, got {exc!r}"
        assert exc.code == self.code
        return True


async def person(tx: Tx, email: str = "ann@example.com", tenant: uuid.UUID = TENANT) -> Any:
    cmd = CreateUser(tenant_id=tenant, email=email, display_name="Ann", roles=["admin"])
    return await users.create_user(tx, cmd, OPERATOR)


# --------------------------------------------------------------------------- users


async def test_creating_a_user_announces_it(tx: Tx) -> None:
    user = await users.create_user(
        tx, CreateUser(email="Ann@Example.com", display_name="Ann", roles=["user"]), admin()
    )
    assert user.tenant_id == TENANT and user.email == "Ann@example.com"
    (created,) = tx.announced()
    assert isinstance(created, UserCreated) and created.user_id == user.id
    assert tx.events[0].tenant_id == TENANT


async def test_a_taken_email_is_refused_and_nothing_is_announced(tx: Tx) -> None:
    await person(tx)
    before = dict(tx.repo.users.rows)
    with refused("duplicate-email"):
        await person(tx, "ANN@example.com")
    assert tx.repo.users.rows == before
    assert len(tx.announced(UserCreated)) == 1
    await person(tx, tenant=OTHER)  # another tenant may use the same address


async def test_an_admin_cannot_create_users_in_another_tenant(tx: Tx) -> None:
    cmd = CreateUser(tenant_id=OTHER, email="x@example.com", display_name="X", roles=["user"])
    with refused("tenant-not-found"):
        await users.create_user(tx, cmd, admin())
    assert tx.announced() == [] and tx.repo.users.rows == {}


async def test_another_tenants_user_is_not_found(tx: Tx) -> None:
    user = await person(tx)
    with refused("user-not-found"):
        await users.update_user(tx, user.id, UpdateUser(display_name="Eve"), admin(OTHER))
    with refused("user-not-found"):
        await users.delete_user(tx, user.id, admin(OTHER))
    with refused("user-not-found"):
        await users.visible_user(tx.repo, user.id, admin(OTHER))
    assert tx.announced() == [tx.announced(UserCreated)[0]]


async def test_an_update_announces_only_real_changes(tx: Tx) -> None:
    user = await person(tx)
    same = await users.update_user(tx, user.id, UpdateUser(display_name="Ann"), admin())
    assert same == user and tx.announced(UserUpdated) == []
    changed = await users.update_user(tx, user.id, UpdateUser(display_name="Anna"), admin())
    assert changed.revision == 2
    (updated,) = tx.announced(UserUpdated)
    assert updated.changed == ["display_name"] and updated.revision == 2


async def test_deleting_a_user_revokes_its_tokens_and_phone_keys(tx: Tx) -> None:
    user = await person(tx)
    token, _ = await tokens.create_api_token(
        tx, user.id, CreateApiToken(name="ci", scopes=["users:read"]), admin()
    )
    key = await phone.register_phone_key(tx, user.id, _phone_cmd(generate_phone_key()), SETTINGS)
    await users.delete_user(tx, user.id, admin())
    revoked, deleted = tx.announced()[-2:]
    assert isinstance(revoked, ApiTokenRevoked) and revoked.token_id == token.id
    assert revoked.reason == "user_deleted"
    assert isinstance(deleted, UserDeleted) and deleted.revision == 2
    assert tx.repo.phone_keys.rows[key.id].revoked_at is not None
    assert await tx.repo.users.get(user.id) is None


# --------------------------------------------------------------------------- API tokens


async def test_a_token_carries_only_scopes_its_user_may_grant(tx: Tx) -> None:
    user = await users.create_user(
        tx, CreateUser(email="u@example.com", display_name="U", roles=["user"]), admin()
    )
    with refused("validation-failed"):
        await tokens.create_api_token(
            tx, user.id, CreateApiToken(name="t", scopes=["users:write"]), OPERATOR
        )
    assert tx.announced(ApiTokenCreated) == [] and tx.repo.tokens.rows == {}
    creator = Principal("admin", TENANT, frozenset({"admin"}), frozenset({"users:write"}))
    with refused("validation-failed"):  # nor scopes its creator does not hold
        await tokens.create_api_token(
            tx, user.id, CreateApiToken(name="t", scopes=["jobs:read"]), creator
        )
    assert tx.announced(ApiTokenCreated) == []


async def test_a_token_that_would_never_work_is_refused(tx: Tx) -> None:
    user = await person(tx)
    past = datetime.now(UTC) - timedelta(seconds=1)
    with refused("validation-failed"):
        await tokens.create_api_token(
            tx, user.id, CreateApiToken(name="t", scopes=["users:read"], expires_at=past), admin()
        )


async def test_a_token_is_announced_without_its_secret_and_revoked_once(tx: Tx) -> None:
    user = await person(tx)
    token, secret = await tokens.create_api_token(
        tx, user.id, CreateApiToken(name="ci", scopes=["users:read"]), admin()
    )
    (created,) = tx.announced(ApiTokenCreated)
    assert created.token_id == token.id and secret not in created.model_dump_json()
    with refused("api-token-not-found"):
        await tokens.revoke_api_token(tx, token.id, admin(OTHER))
    await tokens.revoke_api_token(tx, token.id, admin())
    again = await tokens.revoke_api_token(tx, token.id, admin())
    assert again.revoked_at is not None
    assert [e.reason for e in tx.announced(ApiTokenRevoked)] == ["revoked"]


async def _ring(tx: Tx) -> KeyRing:
    ring = KeyRing.from_settings(SETTINGS)
    await ring.rotate(tx.repo.signing_keys, force=True)
    return ring


async def test_an_api_token_is_exchanged_for_a_verifiable_access_token(tx: Tx) -> None:
    ring = await _ring(tx)
    user = await person(tx)
    _, secret = await tokens.create_api_token(
        tx, user.id, CreateApiToken(name="ci", scopes=["users:read", "users:write"]), admin()
    )
    issued = await tokens.exchange(
        tx, ring, TokenRequest(grant_type="api_token", api_token=secret, scope="users:read"),
        SETTINGS,
    )  # fmt: skip
    assert issued.scopes == {"users:read"}
    with refused("invalid-scope"):
        await tokens.exchange(
            tx, ring, TokenRequest(grant_type="api_token", api_token=secret, scope="jobs:read"),
            SETTINGS,
        )  # fmt: skip
    keys = parse_jwks(await ring.jwks(tx.repo.signing_keys))
    key = keys[jwt.get_unverified_header(issued.jwt)["kid"]]
    who = verify_access_token(
        issued.jwt, key, issuer=SETTINGS.auth_issuer, audience=SETTINGS.auth_audience,
        leeway_s=0,
    )  # fmt: skip
    assert who.subject == str(user.id) and who.scopes == {"users:read"}


async def test_a_revoked_token_or_disabled_user_gets_no_access_token(tx: Tx) -> None:
    ring = await _ring(tx)
    user = await person(tx)
    token, secret = await tokens.create_api_token(
        tx, user.id, CreateApiToken(name="ci", scopes=["users:read"]), admin()
    )
    request = TokenRequest(grant_type="api_token", api_token=secret)
    await users.update_user(tx, user.id, UpdateUser(disabled=True), admin())
    with refused("invalid-grant"):
        await tokens.exchange(tx, ring, request, SETTINGS)
    await users.update_user(tx, user.id, UpdateUser(disabled=False), admin())
    await tokens.exchange(tx, ring, request, SETTINGS)
    await tokens.revoke_api_token(tx, token.id, admin())
    with refused("invalid-grant"):
        await tokens.exchange(tx, ring, request, SETTINGS)


# --------------------------------------------------------------------------- devices


def _claim(
    key: ed25519.Ed25519PrivateKey,
    device_id: uuid.UUID | None = None,
    *,
    at: datetime | None = None,
    kind: str = "printer",
) -> DeviceClaimed:
    der = spki_der(key.public_key())
    return DeviceClaimed(
        device_id=device_id or uuid.uuid4(),
        tenant_id=TENANT,
        subject_type=kind,  # type: ignore[arg-type]
        public_key=b64url_encode(der),
        key_algorithm=key_algorithm(key.public_key()),  # type: ignore[arg-type]
        fingerprint=fingerprint(der),
        model="Test",
        claimed_at=at or datetime.now(UTC),
    )


async def _claimed(tx: Tx, claim: DeviceClaimed) -> None:
    async with tx() as uow:
        await claims.device_claimed(uow, claim)


async def test_a_claim_issues_a_credential_once(tx: Tx) -> None:
    claim = _claim(ed25519.Ed25519PrivateKey.generate())
    await _claimed(tx, claim)
    await _claimed(tx, claim)  # redelivered: applied already
    (issued,) = tx.announced()
    assert isinstance(issued, DeviceCredentialIssued) and issued.device_id == claim.device_id


async def test_a_newer_claim_replaces_the_credential(tx: Tx) -> None:
    first = _claim(ed25519.Ed25519PrivateKey.generate())
    await _claimed(tx, first)
    again = _claim(
        ed25519.Ed25519PrivateKey.generate(), first.device_id,
        at=first.claimed_at + timedelta(seconds=1),
    )  # fmt: skip
    await _claimed(tx, again)
    revoked, issued = tx.announced()[1:]
    assert isinstance(revoked, DeviceCredentialRevoked) and revoked.reason == "replaced"
    assert isinstance(issued, DeviceCredentialIssued) and issued.fingerprint == again.fingerprint


async def test_a_key_authenticates_one_device_only(tx: Tx) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    await _claimed(tx, _claim(key))
    with pytest.raises(PermanentEventError, match="already authenticates"):
        await _claimed(tx, _claim(key))
    assert len(tx.announced()) == 1
    bad = _claim(key).model_copy(update={"fingerprint": "0" * 64})
    with pytest.raises(PermanentEventError, match="fingerprint"):
        await _claimed(tx, bad)


async def test_a_device_token_needs_a_fresh_signed_timestamp(tx: Tx) -> None:
    ring = await _ring(tx)
    key = ed25519.Ed25519PrivateKey.generate()
    claim = _claim(key)
    await _claimed(tx, claim)
    now = int(time.time())
    token = await devices.issue_device_token(
        tx, ring, DeviceTokenRequest(**device_token_request(key, claim.device_id, timestamp=now)),
        SETTINGS,
    )  # fmt: skip
    assert token.expires_in == devices.device_token_ttl_s(SETTINGS)
    replay = DeviceTokenRequest(**device_token_request(key, claim.device_id, timestamp=now))
    with refused("replayed-timestamp"):
        await devices.issue_device_token(tx, ring, replay, SETTINGS)
    stale = now - SETTINGS.device_token_clock_skew_s - 5
    with refused("clock-skew"):
        await devices.issue_device_token(
            tx, ring, DeviceTokenRequest(**device_token_request(key, claim.device_id,
                                                                timestamp=stale)), SETTINGS,
        )  # fmt: skip
    impostor = ed25519.Ed25519PrivateKey.generate()
    forged = device_token_request(impostor, claim.device_id, timestamp=now + 1)
    with refused("device-refused"):
        await devices.issue_device_token(tx, ring, DeviceTokenRequest(**forged), SETTINGS)


async def test_a_revoked_device_gets_no_token_and_revocation_is_announced_once(tx: Tx) -> None:
    ring = await _ring(tx)
    key = ed25519.Ed25519PrivateKey.generate()
    claim = _claim(key)
    await _claimed(tx, claim)
    with refused("device-credential-not-found"):
        await devices.revoke_device_credential(tx, claim.device_id, admin(OTHER))
    await devices.revoke_device_credential(tx, claim.device_id, admin())
    await devices.revoke_device_credential(tx, claim.device_id, admin())
    assert [e.reason for e in tx.announced(DeviceCredentialRevoked)] == ["revoked"]
    request = DeviceTokenRequest(**device_token_request(key, claim.device_id))
    with refused("device-revoked"):
        await devices.issue_device_token(tx, ring, request, SETTINGS)


def _device(claim: DeviceClaimed) -> Principal:
    return Principal(
        str(claim.device_id), claim.tenant_id, frozenset({DEVICE_ROLE}),
        frozenset({DEVICE_SCOPE}), device_id=claim.device_id, device_kind=claim.subject_type,
    )  # fmt: skip


async def test_a_printer_asks_for_login_challenges_for_itself_only(tx: Tx) -> None:
    claim = _claim(ed25519.Ed25519PrivateKey.generate())
    await _claimed(tx, claim)
    issued = await devices.issue_login_challenge(
        tx, _device(claim), RequestLoginChallenge(), SETTINGS
    )
    assert issued.record.printer_id == claim.device_id
    with refused("printer-not-found"):
        await devices.issue_login_challenge(
            tx, _device(claim), RequestLoginChallenge(printer_id=uuid.uuid4()), SETTINGS
        )


async def test_a_connector_asks_for_printers_it_bridges(tx: Tx) -> None:
    claim = _claim(ed25519.Ed25519PrivateKey.generate(), kind="connector")
    await _claimed(tx, claim)
    bridged = uuid.uuid4()
    change = ConnectorDevicesChanged(
        connector_id=claim.device_id, tenant_id=TENANT, revision=2,
        devices=[{"printer_id": str(bridged), "uri": "ipp://p", "name": "P"}],
    )  # fmt: skip
    await claims.connector_devices_changed(tx.repo, change)
    older = change.model_copy(update={"revision": 1, "devices": []})
    await claims.connector_devices_changed(tx.repo, older)  # an older revision changes nothing
    who = _device(claim)
    with refused("validation-failed"):
        await devices.issue_login_challenge(tx, who, RequestLoginChallenge(), SETTINGS)
    with refused("printer-not-found"):
        await devices.issue_login_challenge(
            tx, who, RequestLoginChallenge(printer_id=uuid.uuid4()), SETTINGS
        )
    issued = await devices.issue_login_challenge(
        tx, who, RequestLoginChallenge(printer_id=bridged), SETTINGS
    )
    assert issued.record.printer_id == bridged


# --------------------------------------------------------------------------- phone logins


def _phone_cmd(key: Any) -> RegisterPhoneKey:
    algorithm = key_algorithm(key.public_key())
    return RegisterPhoneKey(public_key=public_key_text(key), algorithm=algorithm, label="Phone")


async def test_one_phone_key_proves_one_user(tx: Tx) -> None:
    ann, bob = await person(tx), await person(tx, "bob@example.com")
    key = generate_phone_key()
    await phone.register_phone_key(tx, ann.id, _phone_cmd(key), SETTINGS)
    with refused("duplicate-phone-key"):
        await phone.register_phone_key(tx, bob.id, _phone_cmd(key), SETTINGS)
    assert len(tx.repo.phone_keys.rows) == 1


async def test_phone_keys_per_user_are_limited(tx: Tx) -> None:
    ann = await person(tx)
    settings = SETTINGS.model_copy(update={"phone_keys_per_user": 1})
    await phone.register_phone_key(tx, ann.id, _phone_cmd(generate_phone_key()), settings)
    with refused("too-many-phone-keys"):
        await phone.register_phone_key(tx, ann.id, _phone_cmd(generate_phone_key()), settings)


async def _challenge(tx: Tx, printer_id: uuid.UUID, tenant: uuid.UUID = TENANT) -> str:
    secret = new_nonce()
    now = datetime.now(UTC)
    record = LoginChallenge(
        challenge_hash=hash_challenge(secret), tenant_id=tenant, printer_id=printer_id,
        device_id=printer_id, created_at=now, expires_at=now + timedelta(minutes=2),
        failures=0, used_at=None, key_id=None, session_id=None,
    )  # fmt: skip
    await tx.repo.challenges.insert(record)
    return b64url_encode(secret)


def _approval(key: Any, key_id: uuid.UUID, challenge: str, printer: uuid.UUID) -> Any:
    class Payload:
        pass

    payload: Any = Payload()
    payload.challenge, payload.printer_id = challenge, printer
    return ApproveDeviceLogin(**approval_request(key, key_id, payload, "open_session"))


async def test_a_phone_approves_a_login_once(tx: Tx) -> None:
    ann = await person(tx)
    key = generate_phone_key()
    registered = await phone.register_phone_key(tx, ann.id, _phone_cmd(key), SETTINGS)
    printer = uuid.uuid4()
    challenge = await _challenge(tx, printer)
    approval = await phone.approve_login(
        tx, _approval(key, registered.id, challenge, printer), SETTINGS
    )
    (approved,) = tx.announced(DeviceLoginApproved)
    assert approved == approval.event and approved.user_id == ann.id
    assert tx.repo.challenges.locked_printers == [printer]
    with refused("challenge-used"):
        await phone.approve_login(tx, _approval(key, registered.id, challenge, printer), SETTINGS)
    assert len(tx.announced(DeviceLoginApproved)) == 1


async def test_a_refused_approval_counts_a_failure_and_announces_nothing(tx: Tx) -> None:
    ann = await person(tx)
    key = generate_phone_key()
    registered = await phone.register_phone_key(tx, ann.id, _phone_cmd(key), SETTINGS)
    printer = uuid.uuid4()
    challenge = await _challenge(tx, printer)
    digest = hash_challenge(b64url_decode(challenge))
    with refused("wrong-printer"):
        await phone.approve_login(
            tx, _approval(key, registered.id, challenge, uuid.uuid4()), SETTINGS
        )
    impostor = generate_phone_key()
    with refused("bad-signature"):
        await phone.approve_login(
            tx, _approval(impostor, registered.id, challenge, printer), SETTINGS
        )
    assert tx.repo.challenges.rows[digest].failures == 2
    assert tx.announced(DeviceLoginApproved) == []
    limit = SETTINGS.login_challenge_max_failures
    tx.repo.challenges.rows[digest] = replace(tx.repo.challenges.rows[digest], failures=limit)
    with refused("challenge-exhausted"):
        await phone.approve_login(tx, _approval(key, registered.id, challenge, printer), SETTINGS)


async def test_a_phone_of_another_tenant_cannot_log_in_here(tx: Tx) -> None:
    eve = await person(tx, "eve@example.com", tenant=OTHER)
    key = generate_phone_key()
    registered = await phone.register_phone_key(tx, eve.id, _phone_cmd(key), SETTINGS)
    printer = uuid.uuid4()
    challenge = await _challenge(tx, printer)
    with refused("foreign-printer"):
        await phone.approve_login(tx, _approval(key, registered.id, challenge, printer), SETTINGS)
    assert tx.announced(DeviceLoginApproved) == []
