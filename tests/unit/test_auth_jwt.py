"""Offline verification of access tokens: JwtAuthenticator, JwksCache, claims mapping.

No network: the key set is served by a fake fetch function and requests are mocked.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from cryptography.hazmat.primitives import serialization

from shared.errors import DomainError, Forbidden, Unauthenticated
from shared.http.auth import (
    CompositeAuthenticator,
    JwksCache,
    JwtAuthenticator,
    OperatorTokenAuthenticator,
    Principal,
    parse_jwks,
    principal_from_claims,
)
from tests.support.tokens import AUDIENCE, ISSUER, TENANT, FakeIssuer, Signer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _authenticator(issuer: FakeIssuer, clock: Clock | None = None, **kw: Any) -> JwtAuthenticator:
    cache = JwksCache("http://auth/jwks", fetch=issuer.fetch, clock=clock or Clock(), **kw)
    return JwtAuthenticator("http://auth/jwks", ISSUER, AUDIENCE, leeway_s=0, cache=cache)


def _request(token: str) -> Any:
    return make_mocked_request("GET", "/v1/printers", headers={"Authorization": f"Bearer {token}"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if secret is None:
        return signing_input + "."
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


@pytest.mark.parametrize("kind", ["ed25519", "p256"])
async def test_a_valid_token_maps_to_a_principal(kind: str) -> None:
    signer = Signer(kind)
    who = await _authenticator(FakeIssuer(signer)).authenticate(_request(signer.token()))
    assert who.tenant_id == TENANT and who.roles == {"admin"}
    assert who.scopes == {"printers:read", "users:read"}
    assert not who.is_operator
    who.require_scope("printers:read")
    with pytest.raises(Forbidden):
        who.require_scope("printers:write")


def _bad_tokens(signer: Signer) -> dict[str, str]:
    now = int(time.time())
    valid = signer.token()
    head, body, sig = valid.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    tampered = _b64(json.dumps({**claims, "tenant_id": str(uuid.uuid4())}).encode())
    public_pem = signer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_header = {"alg": "HS256", "kid": signer.kid, "typ": "at+jwt"}
    return {
        "expired": signer.token(iat=now - 1000, nbf=now - 1000, exp=now - 1),
        "not yet valid": signer.token(nbf=now + 600),
        "issued in the future": signer.token(iat=now + 600, nbf=None),
        "wrong audience": signer.token(aud="someone-else"),
        "wrong issuer": signer.token(iss="https://evil.example"),
        "no exp": signer.token(exp=None),
        "unknown kid": signer.token(headers={"kid": "nope"}),
        "not an access token": signer.token(headers={"typ": "JWT"}),
        "tampered": f"{head}.{tampered}.{sig}",
        "alg none": _forge({"alg": "none", "kid": signer.kid, "typ": "at+jwt"}, claims, None),
        "HS256 with the public key (PEM)": _forge(hs_header, claims, public_pem),
        "HS256 with the public key (x)": _forge(hs_header, claims, signer.jwk["x"].encode()),
        "garbage": "not.a.jwt",
        "signed by a stranger": Signer().token(headers={"kid": signer.kid}),
    }


async def test_bad_tokens_are_refused_with_401() -> None:
    signer = Signer()
    authenticator = _authenticator(FakeIssuer(signer), min_refresh_s=0)
    for name, token in _bad_tokens(signer).items():
        with pytest.raises(Unauthenticated):
            await authenticator.authenticate(_request(token))
            pytest.fail(f"{name} was accepted")


def test_operator_role_and_unknown_scopes_never_come_from_a_token() -> None:
    who = principal_from_claims(
        {
            "sub": "x",
            "tenant_id": None,
            "roles": ["operator", "admin"],
            "scope": "root printers:read",
        }
    )
    assert who == Principal("x", None, frozenset({"admin"}), frozenset({"printers:read"}))
    assert not who.is_operator
    with pytest.raises(Forbidden):
        who.tenant_scope()
    for bad in ({"sub": ""}, {"sub": "x", "roles": "admin"}, {"sub": "x", "tenant_id": "nope"}):
        with pytest.raises(Unauthenticated):
            principal_from_claims(bad)


def test_jwks_parsing_keeps_only_asymmetric_signing_keys() -> None:
    ed, p256 = Signer(), Signer("p256")
    keys = [
        ed.jwk,
        p256.jwk,
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"},
        {**ed.jwk, "kid": "enc", "use": "enc"},
        {**ed.jwk, "kid": "mislabelled", "alg": "ES256"},
        {**ed.jwk, "kid": None},
        "junk",
    ]
    assert set(parse_jwks({"keys": keys})) == {ed.kid, p256.kid}
    with pytest.raises(ValueError):
        parse_jwks({"nothing": []})


async def test_unknown_kid_refreshes_at_most_once_per_interval() -> None:
    old, new = Signer(), Signer()
    issuer, clock = FakeIssuer(old), Clock()
    authenticator = _authenticator(issuer, clock, min_refresh_s=10)
    await authenticator.authenticate(_request(old.token()))
    issuer.signers.append(new)  # auth rotated
    clock.now += 11
    await authenticator.authenticate(_request(new.token()))
    assert issuer.fetches == 2
    forged = [Signer().token() for _ in range(20)]
    for token in forged:
        with pytest.raises(Unauthenticated):
            await authenticator.authenticate(_request(token))
    assert issuer.fetches == 2, "forged kids must not hammer the issuer"
    clock.now += 11
    with pytest.raises(Unauthenticated):
        await authenticator.authenticate(_request(forged[0]))
    assert issuer.fetches == 3


async def test_keys_refresh_in_the_background_before_they_expire() -> None:
    signer = Signer()
    issuer, clock = FakeIssuer(signer, max_age=100), Clock()
    authenticator = _authenticator(issuer, clock, min_refresh_s=1)
    await authenticator.authenticate(_request(signer.token()))
    clock.now += 85  # past 80 % of max-age: served from cache, refreshed behind
    await authenticator.authenticate(_request(signer.token()))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert issuer.fetches == 2


async def test_an_unreachable_issuer_keeps_the_last_keys_for_a_while_then_fails_closed() -> None:
    signer = Signer()
    issuer, clock = FakeIssuer(signer, max_age=100), Clock()
    authenticator = _authenticator(issuer, clock, min_refresh_s=1, stale_grace_s=1000)
    await authenticator.authenticate(_request(signer.token()))
    issuer.down = True
    clock.now += 500
    await authenticator.authenticate(_request(signer.token()))
    clock.now += 1000
    with pytest.raises(DomainError) as refused:
        await authenticator.authenticate(_request(signer.token()))
    assert refused.value.status == 503


async def test_no_keys_at_all_is_a_503_not_a_401() -> None:
    issuer = FakeIssuer(Signer())
    issuer.down = True
    with pytest.raises(DomainError) as refused:
        await _authenticator(issuer).authenticate(_request(Signer().token()))
    assert refused.value.status == 503 and refused.value.code == "auth-unavailable"


async def test_composite_tries_the_operator_token_then_the_jwt() -> None:
    signer = Signer()
    both = CompositeAuthenticator(
        OperatorTokenAuthenticator("op-secret"), _authenticator(FakeIssuer(signer))
    )
    assert (await both.authenticate(_request("op-secret"))).is_operator
    assert (await both.authenticate(_request(signer.token()))).tenant_id == TENANT
    with pytest.raises(Unauthenticated):
        await both.authenticate(_request("op-wrong"))
    with pytest.raises(Unauthenticated):
        await both.authenticate(make_mocked_request("GET", "/v1/printers"))


def test_operators_pass_every_scope_check() -> None:
    Principal("operator", None, frozenset({"operator"})).require_scope("devices:verify")
    with pytest.raises(Forbidden):
        Principal("u", TENANT, frozenset({"admin"})).require_scope("printers:read")


async def test_the_operator_token_is_verified_by_its_digest_alone() -> None:
    token = "op-" + uuid.uuid4().hex
    by_digest = OperatorTokenAuthenticator(None, sha256=hashlib.sha256(token.encode()).hexdigest())
    who = await by_digest.authenticate(_request(token))
    assert who.is_operator
    for wrong in (
        "op-" + uuid.uuid4().hex,
        token + "x",
        hashlib.sha256(token.encode()).hexdigest(),
    ):
        with pytest.raises(Unauthenticated):
            await by_digest.authenticate(_request(wrong))
    with pytest.raises(Unauthenticated):  # neither the token nor a digest: nobody is operator
        await OperatorTokenAuthenticator(None).authenticate(_request(token))
