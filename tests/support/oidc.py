"""A real OpenID Connect provider for tests: ``oidc-provider-mock`` (Authlib inside) as
its own process on a free loopback port. Its sign-in form lets a person pick a subject;
``set_user`` gives a subject its claims (email, name, groups)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp

from shared.infra.kafka import free_port
from tests.support.waiting import eventually


@dataclass(frozen=True)
class OidcProvider:
    """The running provider; ``issuer`` is how both browsers and auth reach it."""

    issuer: str
    process: asyncio.subprocess.Process

    async def set_user(self, sub: str, claims: dict[str, object]) -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.put(f"{self.issuer}/users/{quote(sub)}", json=claims) as resp,
        ):
            assert resp.status == 204, await resp.text()


@contextlib.asynccontextmanager
async def running_oidc_provider() -> AsyncIterator[OidcProvider]:
    """Start the provider (nonces required) and wait for its discovery document."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-W", "ignore", "-m", "oidc_provider_mock", "--port", str(port),
        "--host", "127.0.0.1", "--require-nonce", "true",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    provider = OidcProvider(f"http://127.0.0.1:{port}", process)

    async def up() -> bool:
        assert process.returncode is None, "oidc-provider-mock exited"
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"{provider.issuer}/.well-known/openid-configuration") as resp,
            ):
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    try:
        await eventually(up, 60, "oidc-provider-mock answering")
        yield provider
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
