"""``printcloud audit`` run as processes against the edge, in front of the real registry,
auth and audit processes: an administrator's API token (made through auth) changes a
printer through the edge, and the audit trail, listed and exported by the CLI, names that
administrator and that token with the printer before and after; a user who is not an
administrator is refused, and a bad filter is refused naming it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from shared.testing.infra import TestInfra
from tests.support.cli import CliRig, cli_rig
from tests.support.platform import Caller, new_caller, new_tenant
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(300)
SERVICES = ("registry", "auth", "audit")


@pytest.fixture(scope="module")
async def rig(infra: TestInfra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CliRig]:
    async with cli_rig(infra, tmp_path_factory.mktemp("cli-audit"), SERVICES) as made:
        yield made


async def change_a_printer(http: aiohttp.ClientSession, edge: str, admin: Caller) -> str:
    body = {"tenant_id": admin.tenant_id, "name": "Lobby", "model": "M", "region": "eu-west"}
    r = await http.post(f"{edge}/v1/printers", json=body, headers=admin.headers)
    assert r.status == 201, await r.text()
    printer_id = str((await r.json())["id"])
    r = await http.patch(f"{edge}/v1/printers/{printer_id}", json={"name": "Hall"},
                         headers=admin.headers)  # fmt: skip
    assert r.status == 200, await r.text()
    return printer_id


async def test_an_administrator_reads_and_exports_who_changed_a_printer(
    rig: CliRig, tmp_path: Path
) -> None:
    async with aiohttp.ClientSession() as http:
        tenant = await new_tenant(http, rig.platform)
        admin = await new_caller(http, rig.platform, tenant, ["admin"],
                                 ["printers:read", "printers:write", "users:read"])  # fmt: skip
        printer_id = await change_a_printer(http, rig.edge, admin)
    code, _, err = await rig.cli("login", "--url", rig.edge, "--token", admin.api_token)
    assert code == 0, err

    listed: list[dict[str, Any]] = []

    async def recorded() -> bool:
        code, out, err = await rig.cli("audit", "list", "--subject", printer_id, "--json")
        assert code == 0, err
        listed[:] = json.loads(out)
        return len(listed) == 2

    await eventually(recorded, 90, "the printer's two changes in the audit trail")
    updated = listed[0]
    assert updated["type"] == "printer.updated"
    assert updated["actor"] == {"kind": "user", "id": admin.user_id,
                                "token_id": admin.api_token_id}  # fmt: skip
    assert (updated["before"]["name"], updated["after"]["name"]) == ("Lobby", "Hall")

    code, out, err = await rig.cli("audit", "list", "--type", "printer.*")
    assert code == 0, err
    assert "name: Lobby -> Hall" in out and "created" in out and admin.user_id in out

    target = tmp_path / "audit.jsonl"
    code, out, err = await rig.cli("audit", "export", "--subject", printer_id,
                                   "--since", "2000-01-01", "--output", str(target))  # fmt: skip
    assert code == 0, err
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [e["type"] for e in lines] == ["printer.registered", "printer.updated"]
    assert lines[1] == updated

    code, out, err = await rig.cli("audit", "list", "--type", "printer updated")
    assert code == 1 and "- type:" in err, (out, err)


async def test_a_user_who_is_not_an_administrator_is_refused(rig: CliRig, tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as http:
        tenant = await new_tenant(http, rig.platform)
        user = await new_caller(http, rig.platform, tenant, ["user"], ["printers:read"])
    config = tmp_path / "config"
    code, _, err = await rig.cli("login", "--url", rig.edge, "--token", user.api_token,
                                 config=config)  # fmt: skip
    assert code == 0, err
    code, out, err = await rig.cli("audit", "list", config=config)
    assert code == 1 and "Forbidden" in err and "users:read" in err, (out, err)
