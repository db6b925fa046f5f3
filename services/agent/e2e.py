"""This printer's ephemeral end-to-end key: protected documents are opened here only.

On start the agent makes an X25519 key pair in memory (never written anywhere), signs
an offer of its public half with the device key, publishes it
(``PUT /v1/devices/me/e2e-key``) and shows it on the panel as a QR code
(``printcloud-e2e:...``). A new key replaces it before it expires; the one before is
kept (in memory) until then, so jobs encrypted to it still open. When the agent
stops, its keys are gone: a protected job encrypted to them fails with that reason
and is sent again by its owner, encrypted to the new key.

A scan a person asks for (``GET /v1/devices/me/scans``) is made by the printer (the
simulator can scan) and uploaded encrypted to the phone's ephemeral key the scan
names: the cloud keeps only ciphertext the phone opens.

A protected job's document is opened into ``downloads/<job_id>.open`` (``0600``) and
printed from there; any chunk that does not open fails the job at once (a retry
cannot make altered bytes whole).
"""

from __future__ import annotations

import asyncio
import io
import os
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import x25519

from services.agent.cloud import CloudApi, CloudError, NotClaimed, read_json, refusal
from services.agent.executor import Target
from services.agent.state import StateDir
from shared.crypto.e2e import (
    E2E_FORMAT,
    OFFER_TTL_S,
    E2EError,
    EphemeralKey,
    KeyOffer,
    decrypt_records,
    encode_offer_payload,
    encrypt,
    make_offer,
    open_envelope,
    read_framing,
)
from shared.crypto.encoding import b64url_decode
from shared.logging import get_logger

log = get_logger(__name__)
RENEW_MARGIN_S = 3600.0
"""A new key is made this long before the current one expires."""


class EndToEnd:
    """The printer's current (and previous) ephemeral key, and opening documents with them."""

    def __init__(self, api: CloudApi, state: StateDir, ttl_s: int = OFFER_TTL_S) -> None:
        self.api = api
        self.state = state
        self.ttl_s = ttl_s
        self.keys: dict[uuid.UUID, EphemeralKey] = {}
        self.current: EphemeralKey | None = None
        self.offer: KeyOffer | None = None
        self._published = False

    def payload(self) -> dict[str, object] | None:
        """What the panel shows: the offer as a QR payload, its key id and expiry."""
        if self.offer is None or not self._published:
            return None
        return {
            "qr_payload": encode_offer_payload(self.api.api_url, self.offer),
            "key_id": str(self.offer.key_id), "expires_at": self.offer.expires_at,
        }  # fmt: skip

    async def refresh(self) -> float:
        """Make a key when there is none or it nears expiry, publish its offer; returns
        the seconds until the next look (NotClaimed/CloudError: not published yet)."""
        identity = await asyncio.to_thread(self.state.identity)
        if identity is None:
            raise NotClaimed("the device does not know its identity yet")
        now = time.time()
        if self.current is None or self.current.expires_at - now <= RENEW_MARGIN_S:
            key = EphemeralKey.generate(self.ttl_s)
            self.keys = {k: v for k, v in self.keys.items() if v.expires_at > now}
            self.keys[key.key_id] = key
            self.current, self._published = key, False
            device_key = await asyncio.to_thread(self.state.private_key)
            self.offer = make_offer(device_key, identity.device_id, key)
        if not self._published:
            assert self.offer is not None
            body = {k: v for k, v in self.offer.as_json().items() if k != "device_id"}
            async with self.api.request("PUT", "/v1/devices/me/e2e-key", json=body) as resp:
                data = await read_json(resp)
                if resp.status != 200:
                    raise refusal("end-to-end key refused", resp.status, data)
            self._published = True
            log.info("end-to-end key published", key_id=str(self.offer.key_id))
        assert self.current is not None
        return max(1.0, self.current.expires_at - RENEW_MARGIN_S - time.time())

    async def open(self, source: Path, dest: Path, device_id: uuid.UUID) -> str:
        """Decrypt the protected document at ``source`` into ``dest`` (``0600``); returns
        its real format. E2EError (``dest`` removed) when it does not open whole."""
        return await asyncio.to_thread(self._open, source, dest, device_id)

    async def scans(self, targets: dict[uuid.UUID, Target]) -> None:
        """Scan and deliver each page asked of a printer that can scan (its next try on
        the next listing when the cloud did not take it)."""
        try:
            waiting = await self.api.scans()
        except CloudError as exc:  # NotClaimed too
            log.info("scans not listed", error=str(exc))
            return
        for scan in waiting:
            target = targets.get(uuid.UUID(str(scan.get("printer_id"))))
            scanner = getattr(target.printer, "scan", None) if target is not None else None
            if scanner is None:
                continue  # a printer without a scanner: the scan waits
            try:
                page, page_format = await scanner()
                await self.deliver_scan(scan, page, page_format)
            except (CloudError, ValueError, KeyError) as exc:
                log.warning("scan not delivered", scan_id=str(scan.get("scan_id")), error=str(exc))

    async def deliver_scan(self, scan: dict[str, Any], page: bytes, page_format: str) -> None:
        """Encrypt a scanned page to the phone's key the scan names and upload it (a page
        already delivered is fine); CloudError when the cloud refuses it."""
        public = x25519.X25519PublicKey.from_public_bytes(b64url_decode(scan["public_key"]))
        out = io.BytesIO()
        encrypt(io.BytesIO(page).read, out.write, public, uuid.UUID(scan["printer_id"]),
                uuid.UUID(scan["key_id"]), page_format)  # fmt: skip
        path = f"/v1/devices/me/scans/{scan['scan_id']}/document?pages=1"
        headers = {"Content-Type": E2E_FORMAT}
        async with self.api.request("PUT", path, data=out.getvalue(), headers=headers) as resp:
            data = await read_json(resp)
            if resp.status not in (200, 409):
                raise refusal("scan refused", resp.status, data)
        log.info("scan delivered, encrypted to the phone", scan_id=scan["scan_id"])

    def _open(self, source: Path, dest: Path, device_id: uuid.UUID) -> str:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with source.open("rb") as src, os.fdopen(fd, "wb") as out:
                framing = read_framing(src.read)
                header = framing.header
                if header.device_id != device_id:
                    raise E2EError(f"the document is encrypted for device {header.device_id}, "
                                   f"not for this printer ({device_id})")  # fmt: skip
                key = self.keys.get(header.key_id)
                if key is None:
                    raise E2EError(
                        f"the document is encrypted to key {header.key_id}, which this printer "
                        "no longer holds (its keys live in memory only: it restarted or the "
                        "key expired); send it again to the printer's current key"
                    )
                opened = open_envelope(framing, key.private)
                for chunk in decrypt_records(src.read, opened):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return opened.content_type
