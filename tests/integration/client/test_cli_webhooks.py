"""``printcloud webhooks`` run as processes against the edge, in front of the real
registry, auth and notifications processes: an administrator subscribes an endpoint (its
secret shown once), lists it, reads its empty delivery log, rotates the secret, switches
it off and on, and deletes it; an unsafe URL is refused with its reason."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from shared.testing.infra import TestInfra
from tests.support.cli import CliRig, cli_rig
from tests.support.platform import new_caller, new_tenant

pytestmark = pytest.mark.timeout(300)
SERVICES = ("registry", "auth", "notifications")


@pytest.fixture(scope="module")
async def rig(infra: TestInfra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CliRig]:
    async with cli_rig(infra, tmp_path_factory.mktemp("cli-webhooks"), SERVICES) as made:
        yield made


async def test_an_administrator_manages_webhook_endpoints(rig: CliRig) -> None:
    async with aiohttp.ClientSession() as http:
        tenant = await new_tenant(http, rig.platform)
        admin = await new_caller(
            http, rig.platform, tenant, ["admin"], ["printers:read", "printers:write"]
        )
    code, _, err = await rig.cli("login", "--url", rig.edge, "--token", admin.api_token)
    assert code == 0, err

    code, out, err = await rig.cli(
        "webhooks", "create", "https://93.184.216.34/hooks", "--event", "job.*",
        "--event", "printer.connection_changed",
    )  # fmt: skip
    assert code == 0, err
    first_line = out.splitlines()[0]
    endpoint_id = first_line.split()[1]
    assert "https://93.184.216.34/hooks" in first_line and "(enabled)" in first_line
    assert "secret (shown once, store it): whsec_" in out

    code, out, err = await rig.cli("webhooks", "list")
    assert code == 0 and endpoint_id in out and "job.*, printer.connection_changed" in out, err
    code, out, err = await rig.cli("webhooks", "deliveries", endpoint_id)
    assert code == 0 and "last error" in out, err

    code, out, err = await rig.cli("webhooks", "rotate-secret", endpoint_id, "--overlap", "60")
    assert code == 0 and "new secret (shown once, store it): whsec_" in out, err
    assert "the previous secret signs until" in out

    code, out, err = await rig.cli("webhooks", "disable", endpoint_id)
    assert code == 0 and "disabled by an administrator" in out, err
    code, out, err = await rig.cli("webhooks", "enable", endpoint_id)
    assert code == 0 and "(enabled)" in out, err

    code, out, err = await rig.cli("webhooks", "create", "https://127.0.0.1/x", "--event", "*")
    assert code != 0 and "127.0.0.1 is a loopback address" in out + err

    code, out, err = await rig.cli("webhooks", "delete", endpoint_id)
    assert code == 0 and "deleted" in out, err
    code, out, err = await rig.cli("webhooks", "list")
    assert code == 0 and endpoint_id not in out, err
