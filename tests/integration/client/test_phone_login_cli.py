"""``printcloud phone``: keygen, register and approve against a real auth service, with
readable sentences (never a traceback) when something is refused."""

from __future__ import annotations

import asyncio
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from click.testing import Result
from typer.testing import CliRunner

from deploy.cli import app
from shared.protocols.phone import LoginPayload, decode_login_payload, encode_login_payload
from shared.testing.fixtures import ServiceDbFactory
from tests.support.auth import (
    auth_client,
    create_api_token,
    create_user,
)
from tests.support.auth_devices import (
    USER_SCOPES,
    challenge,
    claimed_device,
    device_token,
)
from tests.support.kafka import envelopes

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def auth(
    service_db: ServiceDbFactory, bootstrap: str, topics: object
) -> AsyncIterator[TestClient]:
    async with auth_client(service_db, bootstrap) as c:
        yield c


async def _cli(config: Path, *args: str) -> Result:
    """Run ``printcloud`` in a thread (it runs its own event loop), with its own config."""
    runner = CliRunner()
    env = {"XDG_CONFIG_HOME": str(config), "COLUMNS": "200"}
    return await asyncio.to_thread(runner.invoke, app, list(args), env=env)


def _said(result: Result) -> str:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return " ".join(result.output.split())


async def test_a_phone_from_the_terminal(auth: TestClient, bootstrap: str, tmp_path: Path) -> None:
    tenant = uuid.uuid4()
    base = str(auth.make_url("")).rstrip("/")
    printer_id, device_key = await claimed_device(auth, bootstrap, tenant)
    token = await device_token(auth, printer_id, device_key)
    user = await create_user(auth, str(tenant), ["user"], display_name="Ada Lovelace")
    secret = (await create_api_token(auth, user["id"], USER_SCOPES))["token"]
    key = tmp_path / "key.pem"

    made = await _cli(tmp_path, "phone", "keygen", "--out", str(key))
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    again = await _cli(tmp_path, "phone", "keygen", "--out", str(key))
    assert again.exit_code == 1 and "never overwritten" in _said(again)

    # No login stored and no token given: a sentence, not a traceback.
    nobody = await _cli(tmp_path, "phone", "register", "--key", str(key), "--label", "Pixel")
    assert nobody.exit_code == 1 and "not logged in" in _said(nobody)

    registered = await _cli(
        tmp_path, "phone", "register", "--key", str(key), "--label", "Pixel",
        "--url", base, "--token", secret,
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    listed = await auth.get(
        "/v1/users/me/phone-keys",
        headers={"Authorization": f"Bearer {await _access(auth, secret)}"},
    )
    (phone_key,) = (await listed.json())["items"]
    assert phone_key["key_id"] in _said(registered) and phone_key["label"] == "Pixel"

    twice = await _cli(
        tmp_path, "phone", "register", "--key", str(key), "--label", "Pixel",
        "--url", base, "--token", secret,
    )  # fmt: skip
    assert twice.exit_code == 1 and "already registered" in _said(twice)

    # The printer's code names the public URL; here that is the test server.
    shown = decode_login_payload((await challenge(auth, token))["qr_payload"])
    code = encode_login_payload(
        LoginPayload(base, shown.printer_id, shown.challenge, shown.expires_at)
    )
    args = ["phone", "approve", code, "--key", str(key), "--key-id", phone_key["key_id"]]
    approved = await _cli(tmp_path, *args, "--action", "release_all")
    assert approved.exit_code == 0, approved.output
    said = _said(approved)
    assert f"Logged in at printer {printer_id} as Ada Lovelace until" in said
    assert "held jobs are being released" in said
    (event,) = await envelopes(bootstrap, "auth.device-logins", key=str(printer_id), count=1)
    assert event["data"]["user_id"] == user["id"] and event["data"]["action"] == "release_all"

    replayed = await _cli(tmp_path, *args)
    assert replayed.exit_code == 1
    assert "used already" in _said(replayed) and "Traceback" not in replayed.output

    foreign = encode_login_payload(
        LoginPayload("https://print.evil.test", shown.printer_id, shown.challenge, shown.expires_at)
    )
    for bad_args, words in (
        (["phone", "approve", "hello", "--key", str(key), "--key-id", phone_key["key_id"]],
         "not a Printcloud login code"),
        (["phone", "approve", code, "--key", str(tmp_path / "none.pem"), "--key-id",
          phone_key["key_id"]], "cannot read the key file"),
        (["phone", "approve", code, "--key", str(key), "--key-id", "mine"], "not a phone key id"),
        (["phone", "approve", foreign, "--key", str(key), "--key-id", phone_key["key_id"]],
         "enrolled with"),
    ):  # fmt: skip
        refused = await _cli(tmp_path, *bad_args)
        assert refused.exit_code == 1 and words in _said(refused), refused.output

    # With a stored login (printcloud login), register needs no URL or token.
    logged_in = await _cli(tmp_path, "login", "--url", base, "--token", secret)
    assert logged_in.exit_code == 0, logged_in.output
    other = tmp_path / "other.pem"
    await _cli(tmp_path, "phone", "keygen", "--out", str(other), "--algorithm", "ed25519")
    stored = await _cli(tmp_path, "phone", "register", "--key", str(other), "--label", "Tablet")
    assert stored.exit_code == 0, stored.output


async def _access(auth: TestClient, secret: str) -> str:
    resp = await auth.post("/v1/token", json={"grant_type": "api_token", "api_token": secret})
    return (await resp.json())["access_token"]  # type: ignore[no-any-return]
