"""``agent register`` when the cloud cannot be reached: on its own the agent shows,
files and prints its signed registration sheet, keeps trying, and collects its
identity once a phone relayed the sheet and the cloud answers again. Against the
real registry (Postgres, Kafka), through a loopback relay that is closed at first."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

from services.agent.state import StateDir
from shared.infra.kafka import free_port
from shared.protocols.onboarding import Sheet
from tests.support.agent import ROOT
from tests.support.network import Relay
from tests.support.onboarding import AUTH, TOKEN
from tests.support.registry import RegistryFactory
from tests.support.waiting import eventually


async def _cli(config: Path, *args: str) -> tuple[int, str]:
    env = {**os.environ, "PRINTCLOUD_CONFIG_DIR": str(config)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "deploy.cli", *args, cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


async def test_an_unreachable_cloud_gets_the_sheet_and_the_relayed_device_redeems(
    registry_app: RegistryFactory, tmp_path: Path
) -> None:
    async with registry_app(TOKEN, public_url="https://print.example.org") as reg:
        api = str(reg.client.make_url("/")).rstrip("/")
        tenant = await (
            await reg.client.post("/v1/tenants", json={"name": "Fallback"}, headers=AUTH)
        ).json()
        port = reg.client.port
        assert port is not None
        relay = Relay(free_port(), ("127.0.0.1", port))  # closed: nothing listens yet
        cloud = f"http://127.0.0.1:{relay.port}"
        state = tmp_path / "state"
        agent = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.agent", "register", "--registry-url", cloud,
            "--state", str(state), "--kind", "printer", "--model", "Laser 5000",
            "--poll-interval", "0.3", "--retry-interval", "0.3",
            "--printer-uri", f"ipp://127.0.0.1:{free_port()}/ipp/print",  # no printer there
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            # 1. No answer: the sheet is on the display (panel.json) and in files.
            panel = state / "panel.json"
            await eventually(panel.exists, timeout=60, what="the sheet on the display")
            shown = json.loads(panel.read_text())["registration"]
            sheet = Sheet.parse(shown["qr_payload"])
            assert sheet.signed and sheet.cloud_url == cloud
            assert sheet.key.fingerprint == StateDir(state).fingerprint()
            assert sheet.model == "Laser 5000" and sheet.kind == "printer"
            assert (state / "registration-sheet.txt").read_text().count(sheet.payload()) == 1
            pdf = state / "registration-sheet.pdf"
            text = PdfReader(pdf).pages[0].extract_text()
            assert sheet.payload() in "".join(text.split())
            assert f"Cloud: {cloud}" in " ".join(text.split())

            # 2. A phone relays it to the cloud it reaches (the agent still cannot).
            config = tmp_path / "phone"
            code, out = await _cli(
                config, "phone", "relay", shown["qr_payload"], "--name", "Basement",
                "--region", "eu-west",
            )  # fmt: skip
            assert code == 1 and "not logged in" in out  # who relays must say who they are
            code, out = await _cli(
                config, "phone", "relay", shown["qr_payload"], "--name", "Basement",
                "--region", "eu-west", "--tenant-id", tenant["id"], "--url", api,
                "--token", TOKEN,
            )  # fmt: skip
            assert code == 0, out
            assert "Relayed: printer" in out and tenant["id"] in out
            again, out = await _cli(
                config, "phone", "relay", shown["qr_payload"], "--name", "Basement",
                "--region", "eu-west", "--tenant-id", tenant["id"], "--url", api,
                "--token", TOKEN,
            )  # fmt: skip
            assert again == 0, out  # relaying twice is harmless
            assert agent.returncode is None  # still trying, the cloud still out of reach

            # 3. The cloud answers again: the agent redeems its identity and exits.
            await relay.open()
            assert agent.stdout is not None
            out_bytes = await asyncio.wait_for(agent.stdout.read(), 60)
            assert await asyncio.wait_for(agent.wait(), 30) == 0, out_bytes.decode()
        finally:
            if agent.returncode is None:
                agent.kill()
                await agent.wait()
            await relay.close()
        output = out_bytes.decode()
        assert "The cloud cannot be reached" in output and "Claimed: device" in output
        assert "Could not print the sheet" in output  # and it went on all the same
        identity = json.loads((state / "identity.json").read_text())
        assert "registration" not in json.loads(panel.read_text())  # joined: off the display
        printers = await reg.client.get(f"/v1/printers?tenant_id={tenant['id']}", headers=AUTH)
        listed = {p["id"]: p["name"] for p in (await printers.json())["items"]}
        assert listed == {identity["device_id"]: "Basement"}
        assert identity["tenant_id"] == tenant["id"]
        assert json.loads((state / "cloud.json").read_text())["api_url"] == (
            "https://print.example.org"
        )


async def test_without_the_fallback_an_unreachable_cloud_is_an_error(tmp_path: Path) -> None:
    state = tmp_path / "state"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.agent", "register",
        "--registry-url", f"http://127.0.0.1:{free_port()}", "--state", str(state),
        "--kind", "printer", "--model", "Laser 5000", "--no-fallback",
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1, out.decode()
    assert "registration failed" in out.decode()
    assert not (state / "registration-sheet.pdf").exists()
