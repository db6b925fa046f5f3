"""Passkeys against an in-memory repository and a software authenticator: a person
registers one for a registration challenge and signs in with it for an access token of
their roles; challenges are single use and of one purpose; another origin, another
person's challenge, a revoked passkey and a replayed counter are refused."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.auth.domain.commands import CreateUser, PasskeyLogin, RegisterPasskey
from services.auth.handlers import passkeys, users
from services.auth.settings import AuthSettings
from services.auth.signing import KeyRing
from shared.crypto.sealing import new_key_text
from shared.errors import DomainError
from shared.http.auth import Principal, parse_jwks, verify_access_token
from shared.testing.uow import InMemoryTransactions
from tests.support.authenticator import SoftAuthenticator
from tests.support.fakes.auth import FakeAuthRepository

Tx = InMemoryTransactions[FakeAuthRepository]
TENANT = uuid.uuid4()
OPERATOR = Principal("operator", None, frozenset({"operator"}))
ORIGIN = "http://localhost:8089"
SETTINGS = AuthSettings(
    database_url="postgresql://x:y@127.0.0.1:1/db", key_encryption_key=new_key_text(),
    passkey_rp_id="localhost", passkey_origins=[ORIGIN],
)  # fmt: skip


@pytest.fixture
def tx() -> Tx:
    return InMemoryTransactions(FakeAuthRepository())


async def person(tx: Tx, email: str = "ann@example.com") -> Any:
    cmd = CreateUser(tenant_id=TENANT, email=email, display_name="Ann", roles=["user"])
    return await users.create_user(tx, cmd, OPERATOR)


async def registered(tx: Tx, user: Any, origin: str = ORIGIN) -> SoftAuthenticator:
    device = SoftAuthenticator("localhost", origin)
    options = {"publicKey": await passkeys.registration_options(tx, user.id, SETTINGS)}
    answer = device.create(options)
    cmd = RegisterPasskey.model_validate({"label": "Laptop", "credential": answer})
    await passkeys.register_passkey(tx, user.id, cmd, SETTINGS)
    return device


async def sign_in(tx: Tx, device: SoftAuthenticator) -> Any:
    ring = KeyRing.from_settings(SETTINGS)
    await ring.rotate(tx.repo.signing_keys, force=True)
    options = {"publicKey": await passkeys.sign_in_options(tx, SETTINGS)}
    cmd = PasskeyLogin.model_validate({"credential": device.get(options)})
    issued = await passkeys.sign_in(tx, ring, cmd, SETTINGS)
    keys = parse_jwks(await ring.jwks(tx.repo.signing_keys))
    return issued, keys


def code_of(exc: pytest.ExceptionInfo[DomainError]) -> str:
    return exc.value.code


async def test_register_then_sign_in_for_a_token_of_the_persons_roles(tx: Tx) -> None:
    ann = await person(tx)
    device = await registered(tx, ann)
    (key,) = tx.repo.passkeys.rows.values()
    assert key.user_id == ann.id and key.credential_id == device.credential_id
    issued, keys = await sign_in(tx, device)
    kid = next(iter(keys))
    who = verify_access_token(issued.jwt, keys[kid], issuer=SETTINGS.auth_issuer,
                              audience=SETTINGS.auth_audience, leeway_s=0)  # fmt: skip
    assert who.subject == str(ann.id) and who.tenant_id == TENANT
    assert who.roles == frozenset({"user"}) and "jobs:submit" in who.scopes
    assert tx.repo.passkeys.rows[key.id].sign_count == 1


async def test_a_sign_in_challenge_is_single_use(tx: Tx) -> None:
    device = await registered(tx, await person(tx))
    options = {"publicKey": await passkeys.sign_in_options(tx, SETTINGS)}
    ring = KeyRing.from_settings(SETTINGS)
    await ring.rotate(tx.repo.signing_keys, force=True)
    cmd = PasskeyLogin.model_validate({"credential": device.get(options)})
    await passkeys.sign_in(tx, ring, cmd, SETTINGS)
    with pytest.raises(DomainError) as exc:
        await passkeys.sign_in(tx, ring, cmd, SETTINGS)
    assert code_of(exc) == "passkey-refused"


async def test_a_registration_challenge_does_not_sign_in(tx: Tx) -> None:
    ann = await person(tx)
    device = await registered(tx, ann)
    options = {"publicKey": await passkeys.registration_options(tx, ann.id, SETTINGS)}
    ring = KeyRing.from_settings(SETTINGS)
    await ring.rotate(tx.repo.signing_keys, force=True)
    cmd = PasskeyLogin.model_validate({"credential": device.get(options)})
    with pytest.raises(DomainError) as exc:
        await passkeys.sign_in(tx, ring, cmd, SETTINGS)
    assert code_of(exc) == "passkey-refused"


async def test_another_origin_is_refused_and_nothing_is_kept(tx: Tx) -> None:
    with pytest.raises(DomainError) as exc:
        await registered(tx, await person(tx), origin="https://phish.example.net")
    assert code_of(exc) == "validation-failed"
    assert tx.repo.passkeys.rows == {}


async def test_another_persons_registration_challenge_is_refused(tx: Tx) -> None:
    ann, bob = await person(tx), await person(tx, "bob@example.com")
    device = SoftAuthenticator("localhost", ORIGIN)
    options = {"publicKey": await passkeys.registration_options(tx, ann.id, SETTINGS)}
    cmd = RegisterPasskey.model_validate({"credential": device.create(options)})
    with pytest.raises(DomainError) as exc:
        await passkeys.register_passkey(tx, bob.id, cmd, SETTINGS)
    assert code_of(exc) == "passkey-refused"
    assert tx.repo.passkeys.rows == {}


async def test_a_revoked_passkey_no_longer_signs_in(tx: Tx) -> None:
    ann = await person(tx)
    device = await registered(tx, ann)
    (key,) = tx.repo.passkeys.rows.values()
    await passkeys.revoke_passkey(tx, ann.id, key.id)
    with pytest.raises(DomainError) as exc:
        await sign_in(tx, device)
    assert code_of(exc) == "passkey-refused"


async def test_a_counter_that_goes_back_is_refused(tx: Tx) -> None:
    device = await registered(tx, await person(tx))
    await sign_in(tx, device)
    await sign_in(tx, device)
    device.counter = 0  # a cloned authenticator replays an older counter
    with pytest.raises(DomainError) as exc:
        await sign_in(tx, device)
    assert code_of(exc) == "passkey-refused"
