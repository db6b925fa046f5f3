"""``printcloud policies`` run as processes against the edge, in front of the real
registry, auth and routing processes: an administrator creates print policies, lists
them with the tenant's version, replaces one (a new revision and version), reads the
policies of an earlier version and deletes one; an invalid time zone is refused naming
the field."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from shared.testing.infra import TestInfra
from tests.support.cli import CliRig, cli_rig
from tests.support.platform import new_caller, new_tenant

pytestmark = pytest.mark.timeout(300)
SERVICES = ("registry", "auth", "routing")


@pytest.fixture(scope="module")
async def rig(infra: TestInfra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CliRig]:
    async with cli_rig(infra, tmp_path_factory.mktemp("cli-policies"), SERVICES) as made:
        yield made


async def test_an_administrator_manages_print_policies(rig: CliRig) -> None:
    async with aiohttp.ClientSession() as http:
        tenant = await new_tenant(http, rig.platform)
        admin = await new_caller(
            http, rig.platform, tenant, ["admin"], ["printers:read", "printers:write"]
        )
    code, _, err = await rig.cli("login", "--url", rig.edge, "--token", admin.api_token)
    assert code == 0, err

    code, out, err = await rig.cli("policies", "create", "Save paper", "--force-duplex")
    assert code == 0, out + err
    first_line = out.splitlines()[0]
    paper = first_line.split()[1]
    assert "'Save paper'  (tenant, revision 1)" in first_line
    assert "rules: force_duplex=True" in out and "now at version 1" in out
    code, out, err = await rig.cli(
        "policies", "create", "Office hours", "--hours-from", "08:00", "--hours-to", "18:00",
        "--timezone", "Europe/Paris", "--days", "mon,tue,wed,thu,fri",
    )  # fmt: skip
    assert code == 0 and "mon,tue,wed,thu,fri 08:00-18:00 Europe/Paris" in out, out + err

    code, out, err = await rig.cli(
        "policies", "create", "Night", "--hours-from", "22:00", "--hours-to", "06:00",
        "--timezone", "Mars/Olympus_Mons",
    )  # fmt: skip
    assert code != 0
    assert "rules.allowed_hours.timezone" in out + err and "unknown time zone" in out + err
    code, out, err = await rig.cli("policies", "create", "Save paper", "--max-pages", "5")
    assert code != 0 and "already used by another policy" in out + err

    code, out, err = await rig.cli("policies", "update", paper, "--name", "Save paper",
                                   "--max-copies", "3")  # fmt: skip
    assert code == 0 and "revision 2" in out and "max_copies=3" in out, out + err
    assert "now at version 3" in out
    code, out, err = await rig.cli("policies", "list")
    assert code == 0 and "policy version 3" in out, out + err
    assert "Office hours" in out and "max_copies=3" in out and "force_duplex" not in out
    code, out, err = await rig.cli("policies", "list", "--version", "1")
    assert code == 0 and "force_duplex=True" in out and "Office hours" not in out, out + err

    code, out, err = await rig.cli("policies", "delete", paper)
    assert code == 0 and "deleted" in out, err
    code, out, err = await rig.cli("policies", "show", paper)
    assert code != 0 and "no such policy" in out + err
    code, out, err = await rig.cli("policies", "list", "--json")
    assert code == 0, err
    assert '"version": 4' in out and "Save paper" not in out
