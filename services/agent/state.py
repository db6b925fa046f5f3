"""The agent's state directory: its key, its identity, its registration, its devices.

Layout (the directory is ``0700``; secrets are ``0600``)::

    device-key.pem       Ed25519 private key (PKCS#8 PEM), created on first use
    identity.json        device_id, tenant_id, kind once the cloud told us
    registration.json    the pending online registration (id, code, last poll)
    sheet.json           the claim code printed on the offline registration sheet
    devices.json         a connector's bridged printers (from ``sync_devices``)
    cloud.json           where the cloud is: gateway_url and api_url (told at the claim)
    panel.json           what the printer's panel shows (waiting jobs, sessions, login code)
    downloads/           documents being fetched (<job_id>.part) or fetched (<job_id>.doc)
    journal.sqlite3      executed commands, printed jobs, frames to send
    agent.lock           held by the running agent: one agent per directory
    deliveries/<printer_id>/<purpose>/<name>   files delivered to a printer

Every file is replaced atomically (temp file, fsync, rename, fsync directory), so a
crash leaves either the old or the new content, never a torn one.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from shared.crypto.keys import fingerprint, spki_der

Kind = Literal["printer", "connector"]
KEY_FILE = "device-key.pem"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class StateError(RuntimeError):
    """The state directory cannot be used (bad permissions, unreadable key)."""


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` durably: temp file, fsync, rename, fsync dir."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def copy_atomic(source: Path, path: Path, mode: int = 0o600) -> None:
    """Replace ``path`` with a copy of ``source`` durably, streamed (never whole in memory)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable."""
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def safe_name(name: str) -> bool:
    """A plain file name: no path separators, no leading dot, at most 200 characters."""
    return bool(_SAFE_NAME.fullmatch(name)) and ".." not in name


@dataclass(frozen=True)
class Identity:
    """Who the cloud says this device is."""

    device_id: uuid.UUID
    tenant_id: uuid.UUID
    kind: Kind


@dataclass(frozen=True)
class BridgedDevice:
    """A printer a connector is responsible for."""

    printer_id: uuid.UUID
    uri: str
    files_uri: str | None = None
    """Where the printer takes files (firmware, templates), if it does."""


class StateDir:
    """One agent's state directory (created ``0700`` on first use)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(root, 0o700)

    def lock(self) -> IO[bytes]:
        """Hold the directory for this process (released when it exits, however it exits)."""
        handle = (self.root / "agent.lock").open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StateError(f"another agent is running with {self.root}") from None
        return handle

    # ------------------------------------------------------------------ key

    def private_key(self) -> ed25519.Ed25519PrivateKey:
        """The device key, created (0600) the first time it is needed."""
        path = self.root / KEY_FILE
        if not path.exists():
            key = ed25519.Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            write_atomic(path, pem, 0o600)
            return key
        if path.stat().st_mode & 0o077:
            raise StateError(f"{path} is readable by others: chmod 600 it")
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, ed25519.Ed25519PrivateKey):
            raise StateError(f"{path} does not hold an Ed25519 private key")
        return loaded

    def public_der(self) -> bytes:
        """The public key's SubjectPublicKeyInfo DER."""
        return spki_der(self.private_key().public_key())

    def fingerprint(self) -> str:
        """Lowercase hex SHA-256 of the public key's DER: the key's name in the cloud."""
        return fingerprint(self.public_der())

    def public_pem(self) -> str:
        """The public key as PEM text, as sent when registering."""
        return (
            self.private_key()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    # ------------------------------------------------------------------ json files

    def read_json(self, name: str) -> dict[str, Any] | None:
        """The content of ``name`` (a JSON object), or None when absent."""
        path = self.root / name
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise StateError(f"{path} does not hold a JSON object")
        return data

    def write_json(self, name: str, data: dict[str, Any]) -> None:
        """Replace ``name`` atomically with ``data``."""
        write_atomic(self.root / name, json.dumps(data, indent=2, sort_keys=True).encode())

    def identity(self) -> Identity | None:
        """The identity the cloud gave this device, once known."""
        data = self.read_json("identity.json")
        if data is None:
            return None
        kind: Kind = "connector" if data["kind"] == "connector" else "printer"
        return Identity(uuid.UUID(data["device_id"]), uuid.UUID(data["tenant_id"]), kind)

    def save_identity(self, identity: Identity) -> None:
        """Remember the identity (after a claim, or as ``welcome`` stated it)."""
        self.write_json(
            "identity.json",
            {
                "device_id": str(identity.device_id),
                "tenant_id": str(identity.tenant_id),
                "kind": identity.kind,
            },
        )

    def cloud(self) -> dict[str, str]:
        """Where the cloud is (``gateway_url``, ``api_url``), as told when claimed."""
        data = self.read_json("cloud.json") or {}
        return {k: str(v) for k, v in data.items() if k in ("gateway_url", "api_url") and v}

    def save_cloud(self, **urls: str | None) -> None:
        """Remember where the cloud is (only the URLs given, keeping the others)."""
        data = self.cloud()
        data.update({k: v for k, v in urls.items() if v})
        self.write_json("cloud.json", data)

    def devices(self) -> list[BridgedDevice]:
        """A connector's bridged printers, as last synchronised."""
        data = self.read_json("devices.json") or {"devices": []}
        return [
            BridgedDevice(uuid.UUID(d["printer_id"]), d["uri"], d.get("files_uri"))
            for d in data["devices"]
        ]

    def save_devices(self, devices: list[BridgedDevice]) -> None:
        """Replace the connector's list of bridged printers."""
        self.write_json(
            "devices.json",
            {
                "devices": [
                    {"printer_id": str(d.printer_id), "uri": d.uri, "files_uri": d.files_uri}
                    for d in devices
                ]
            },
        )

    # ------------------------------------------------------------------ deliveries

    def store_delivery(self, printer_id: uuid.UUID, purpose: str, name: str, data: bytes) -> Path:
        """Keep a file delivered to a printer; ValueError for an unsafe name or purpose."""
        if not safe_name(name) or not safe_name(purpose):
            raise ValueError(f"not a plain file name: {name!r}")
        directory = self.root / "deliveries" / str(printer_id) / purpose
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = directory / name
        write_atomic(path, data, 0o600)
        return path
