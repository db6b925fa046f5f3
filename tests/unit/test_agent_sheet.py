"""The offline registration sheet: what people read, and a payload the registry accepts."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from client.api import Credentials
from deploy.cli import app as cli_app
from services.agent.cli import agent_app
from services.agent.fallback import sheet_pdf
from services.agent.onboarding import grouped, sheet_for
from services.agent.state import StateDir
from shared.crypto.encoding import b64url_encode
from shared.errors import ValidationFailed
from shared.protocols.onboarding import CLAIM_ALPHABET, DeviceKey, Sheet, display_claim_code

MODEL = "Laser 5000 / A4 & more"


def _sheet(state: Path, *extra: str) -> str:
    result = CliRunner().invoke(
        agent_app, ["sheet", "--state", str(state), "--kind", "printer", "--model", MODEL, *extra]
    )
    assert result.exit_code == 0, result.output
    return result.output


def _payload(text: str) -> str:
    (line,) = [ln for ln in text.splitlines() if ln.startswith("printcloud:register?")]
    return line


def test_sheet_payload_parses_and_matches_the_text(tmp_path: Path) -> None:
    text = _sheet(tmp_path)
    sheet = Sheet.parse(_payload(text))
    state = StateDir(tmp_path)
    assert sheet.kind == "printer" and sheet.model == MODEL
    assert sheet.key.fingerprint == state.fingerprint()
    shown = re.search(r"Claim code:\s+([A-Z2-9]{4})-([A-Z2-9]{4})", text)
    assert shown is not None and shown.group(1) + shown.group(2) == sheet.claim_code
    assert all(c in CLAIM_ALPHABET for c in sheet.claim_code)
    for line in grouped(state.fingerprint()):
        assert line in text
    assert "".join("".join(grouped(state.fingerprint())).split()) == state.fingerprint()
    assert re.search(r"[█▀▄]{10}", text), "the QR code is drawn"


def test_reprinting_keeps_the_code_unless_asked(tmp_path: Path) -> None:
    first = Sheet.parse(_payload(_sheet(tmp_path)))
    assert Sheet.parse(_payload(_sheet(tmp_path, "--no-qr"))).claim_code == first.claim_code
    assert Sheet.parse(_payload(_sheet(tmp_path, "--new-code"))).claim_code != first.claim_code


def test_a_tampered_sheet_is_refused(tmp_path: Path) -> None:
    payload = _payload(_sheet(tmp_path, "--no-qr"))
    fp = Sheet.parse(payload).key.fingerprint
    wrong_fp = payload.replace(f"fp={fp}", f"fp={'0' if fp[0] != '0' else '1'}{fp[1:]}")
    with pytest.raises(ValidationFailed, match="altered"):
        Sheet.parse(wrong_fp)
    other = DeviceKey.parse(b64url_encode(StateDir(tmp_path / "other").public_der()))
    swapped = re.sub(r"key=[A-Za-z0-9_-]+", f"key={other.text()}", payload)
    with pytest.raises(ValidationFailed, match="altered"):
        Sheet.parse(swapped)


# ------------------------------------------------------------- the signed sheet (fallback)


def _signed(state: Path, cloud: str = "https://print.example.com") -> Sheet:
    store = StateDir(state)
    return sheet_for(store, "printer", MODEL).sign_with(store.private_key(), cloud, 1_800_000_000)


def test_a_signed_sheet_names_its_cloud_and_survives_line_breaks(tmp_path: Path) -> None:
    sheet = _signed(tmp_path)
    payload = sheet.payload()
    assert payload.startswith("printcloud:register?v=2&") and "&sig=" in payload
    wrapped = "\n".join(payload[i : i + 64] for i in range(0, len(payload), 64))
    read = Sheet.parse(wrapped)  # as copied off the printed page
    assert read == sheet and read.signed and read.cloud_url == "https://print.example.com"
    assert read.model == MODEL and read.issued_at == 1_800_000_000


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("print.example.com", "evil.example.com"),  # another cloud
        ("&ts=1800000000", "&ts=1800000001"),  # another time
        ("kind=printer", "kind=connector"),  # another kind
        ("Laser%205000", "Laser%206000"),  # another model
    ],
)
def test_any_change_to_a_signed_sheet_is_refused(tmp_path: Path, before: str, after: str) -> None:
    payload = _signed(tmp_path).payload()
    assert before in payload
    with pytest.raises(ValidationFailed, match="not signed by its device") as caught:
        Sheet.parse(payload.replace(before, after))
    assert [e.field for e in caught.value.errors] == ["sheet.sig"]


def test_a_sheet_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    mine, other = _signed(tmp_path / "mine"), _signed(tmp_path / "other")
    forged = mine.payload().replace(
        f"sig={b64url_encode(mine.signature)}", f"sig={b64url_encode(other.signature)}"
    )
    with pytest.raises(ValidationFailed, match="not signed"):
        Sheet.parse(forged)
    unsigned = mine.payload().split("&url=")[0]  # v=2 without its cloud and signature
    with pytest.raises(ValidationFailed, match="incomplete") as caught:
        Sheet.parse(unsigned)
    assert {e.field for e in caught.value.errors} == {"sheet.url", "sheet.ts", "sheet.sig"}


def test_the_pdf_sheet_holds_the_text_and_the_payload(tmp_path: Path) -> None:
    sheet = _signed(tmp_path)
    pdf = sheet_pdf(sheet)
    assert pdf.startswith(b"%PDF-")
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    text = page.extract_text()
    assert "PRINTCLOUD REGISTRATION SHEET" in text
    assert "Cloud: https://print.example.com" in " ".join(text.split())
    assert display_claim_code(sheet.claim_code) in text
    assert sheet.payload() in "".join(text.split())


def test_the_phone_relays_a_sheet_only_to_the_cloud_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRINTCLOUD_CONFIG_DIR", str(tmp_path / "config"))
    Credentials(url="https://other.example.org", api_token="pc_x").save()
    payload = _signed(tmp_path / "state").payload()
    args = ["phone", "relay", payload, "--name", "Lobby", "--region", "eu-west"]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 1
    assert "the sheet is for the cloud at https://print.example.com" in result.output
    altered = payload.replace("Laser%205000", "Laser%206000")
    result = CliRunner().invoke(cli_app, ["phone", "relay", altered, *args[3:]])
    assert result.exit_code == 1 and "sheet.sig" in result.output


def test_agent_sheet_signs_when_told_the_cloud(tmp_path: Path) -> None:
    payload = _payload(_sheet(tmp_path, "--no-qr", "--registry-url", "https://print.example.com"))
    sheet = Sheet.parse(payload)
    assert sheet.signed and sheet.cloud_url == "https://print.example.com"
    assert sheet.claim_code == Sheet.parse(_payload(_sheet(tmp_path, "--no-qr"))).claim_code
