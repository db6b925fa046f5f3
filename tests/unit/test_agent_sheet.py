"""The offline registration sheet: what people read, and a payload the registry accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.agent.cli import agent_app
from services.agent.onboarding import grouped
from services.agent.state import StateDir
from shared.crypto.encoding import b64url_encode
from shared.errors import ValidationFailed
from shared.protocols.onboarding import CLAIM_ALPHABET, DeviceKey, Sheet

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
