"""The agent's state directory: key creation and permissions, identity, deliveries."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest

from services.agent.state import KEY_FILE, BridgedDevice, Identity, StateDir, StateError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    root = tmp_path / "agent"
    state = StateDir(root)
    first = state.fingerprint()
    assert _mode(root) == 0o700
    assert _mode(root / KEY_FILE) == 0o600
    assert (root / KEY_FILE).read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert StateDir(root).fingerprint() == first
    assert len(first) == 64


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "agent")
    state.private_key()
    (state.root / KEY_FILE).chmod(0o644)
    with pytest.raises(StateError, match="chmod 600"):
        StateDir(state.root).private_key()


def test_an_existing_loose_directory_is_tightened(tmp_path: Path) -> None:
    root = tmp_path / "agent"
    root.mkdir(mode=0o755)
    StateDir(root)
    assert _mode(root) == 0o700


def test_identity_and_devices_round_trip(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    assert state.identity() is None and state.devices() == []
    identity = Identity(uuid.uuid4(), uuid.uuid4(), "connector")
    state.save_identity(identity)
    assert StateDir(tmp_path).identity() == identity
    assert _mode(tmp_path / "identity.json") == 0o600
    devices = [BridgedDevice(uuid.uuid4(), "ipp://10.0.0.5/ipp/print")]
    state.save_devices(devices)
    assert StateDir(tmp_path).devices() == devices


@pytest.mark.parametrize("name", ["../escape", ".hidden", "a/b", "", "x" * 201, "a..b"])
def test_deliveries_refuse_names_that_are_not_plain_files(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError):
        StateDir(tmp_path).store_delivery(uuid.uuid4(), "settings", name, b"{}")


def test_delivery_is_stored_under_the_printer(tmp_path: Path) -> None:
    printer = uuid.uuid4()
    path = StateDir(tmp_path).store_delivery(printer, "firmware", "fw-2.1.bin", b"\x7fELF")
    assert path == tmp_path / "deliveries" / str(printer) / "firmware" / "fw-2.1.bin"
    assert path.read_bytes() == b"\x7fELF"


def test_one_agent_per_state_directory(tmp_path: Path) -> None:
    held = StateDir(tmp_path).lock()
    with pytest.raises(StateError, match="another agent"):
        StateDir(tmp_path).lock()
    held.close()
    StateDir(tmp_path).lock().close()
