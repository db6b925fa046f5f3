"""Fixtures of the portal's browser tests: Debian's chromium driven by Playwright,
started once per test session, and the platform with the portal, once per module."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from shared.testing.infra import TestInfra
from tests.support.oidc import OidcProvider, running_oidc_provider
from tests.support.portal import CHROMIUM, PortalWorld, running_portal_world


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Headless chromium (Debian's; deploy/local/bootstrap.sh installs it). Missing, it
    is a failure, not a skip."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing (Debian chromium)")
    async with async_playwright() as pw:
        found = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield found
        finally:
            await found.close()


@pytest.fixture(scope="module")
async def portal_world(
    infra: TestInfra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[PortalWorld]:
    async with running_portal_world(infra, tmp_path_factory.mktemp("portal")) as world:
        yield world


@pytest.fixture(scope="session")
async def oidc_provider() -> AsyncIterator[OidcProvider]:
    """A real OpenID Connect provider process, once per test session."""
    async with running_oidc_provider() as provider:
        yield provider
