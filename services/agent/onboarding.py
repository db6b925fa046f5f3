"""Joining a tenant: online (claim code from the registry) or offline (registration sheet).

Online, the agent posts its public key, shows the claim code and URL, and polls
its registration (each poll signed with the key, with increasing timestamps)
until an administrator claims it; an expired code is replaced by a new one.
When the registration request gets no answer (no route, TLS failure, timeout),
the agent on its own outputs its signed registration sheet (see
:mod:`services.agent.fallback`) and keeps trying; once someone relayed the sheet
and the cloud is reachable again, it redeems its identity with its key.
Offline by choice, ``agent sheet`` prints the sheet; the device then learns its
identity from the gateway's ``welcome``.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from services.agent.cloud import read_json
from services.agent.state import Identity, Kind, StateDir
from shared.crypto.encoding import b64url_encode
from shared.crypto.signatures import sign
from shared.logging import get_logger
from shared.protocols.onboarding import (
    DeviceKey,
    Sheet,
    display_claim_code,
    new_claim_code,
    poll_message,
    redeem_headers,
    registration_headers,
)

log = get_logger(__name__)
Say = Callable[[str], None]


class RegistrationFailed(RuntimeError):
    """The registry refused the registration (the message says why)."""


class AlreadyClaimed(RegistrationFailed):
    """The key belongs to a claimed device: it learns its identity when it connects."""


class CloudUnreachable(RegistrationFailed):
    """The registration request got no answer: no route, a TLS failure, a timeout, or a
    proxy saying the cloud is not there (502, 503, 504)."""


UNREACHABLE = (aiohttp.ClientConnectionError, TimeoutError)
"""What a request raises when it cannot reach the cloud (TLS errors are connection errors)."""
GATEWAY_ANSWERS = (502, 503, 504)
Fallback = Callable[[Sheet], Awaitable[None]]
"""What the agent does with its sheet when the cloud cannot be reached."""


@dataclass
class Registrar:
    """Talks to the registry's onboarding API on behalf of one state directory."""

    registry_url: str
    state: StateDir
    kind: Kind
    model: str
    http: aiohttp.ClientSession
    poll_interval: float = 3.0

    def _url(self, path: str) -> str:
        return self.registry_url.rstrip("/") + path

    async def start(self) -> dict[str, Any]:
        """POST /v1/registrations; the registration (saved in registration.json)."""
        body = {"public_key": self.state.public_pem(), "kind": self.kind, "model": self.model}
        # Signed with the key: the registry tells the claim code only to the key's holder.
        headers = registration_headers(self.state.private_key())
        url = self._url("/v1/registrations")
        try:
            async with self.http.post(url, json=body, headers=headers) as resp:
                data = await read_json(resp)
        except UNREACHABLE as exc:
            raise CloudUnreachable(_reason(exc)) from exc
        if resp.status in GATEWAY_ANSWERS:
            raise CloudUnreachable(f"HTTP {resp.status} from {self.registry_url}")
        if resp.status == 409:
            raise AlreadyClaimed(data.get("detail", "the device is already claimed"))
        if resp.status not in (200, 201):
            raise RegistrationFailed(f"HTTP {resp.status}: {data.get('detail', data)}")
        previous = self.state.read_json("registration.json") or {}
        data["last_poll"] = int(previous.get("last_poll", 0))
        data["registry_url"] = self.registry_url
        self.state.write_json("registration.json", data)
        return data

    async def poll(self, registration: dict[str, Any]) -> dict[str, Any]:
        """GET /v1/registrations/{id}, signed; the registration's current status."""
        rid = uuid.UUID(registration["registration_id"])
        stamp = max(int(time.time()), int(registration.get("last_poll", 0)) + 1)
        registration["last_poll"] = stamp
        self.state.write_json("registration.json", registration)
        signature = sign(self.state.private_key(), poll_message(rid, stamp))
        headers = {
            "X-Printcloud-Timestamp": str(stamp),
            "X-Printcloud-Signature": b64url_encode(signature),
        }
        async with self.http.get(self._url(f"/v1/registrations/{rid}"), headers=headers) as resp:
            data = await read_json(resp)
            if resp.status == 404:
                return {"status": "expired"}
            if resp.status != 200:
                raise RegistrationFailed(f"HTTP {resp.status}: {data.get('detail', data)}")
            return data

    async def redeem(self) -> dict[str, Any] | None:
        """POST /v1/registrations/redeem, signed: the registration once an administrator
        claimed the device from its sheet; None while nobody did."""
        saved = self.state.read_json("registration.json") or {}
        stamp = max(int(time.time()), int(saved.get("last_poll", 0)) + 1)
        self.state.write_json("registration.json", {**saved, "last_poll": stamp})
        body = {"public_key": self.state.public_pem()}
        headers = redeem_headers(self.state.private_key(), stamp)
        url = self._url("/v1/registrations/redeem")
        try:
            async with self.http.post(url, json=body, headers=headers) as resp:
                data = await read_json(resp)
        except UNREACHABLE as exc:
            raise CloudUnreachable(_reason(exc)) from exc
        if resp.status == 404:
            return None
        if resp.status in GATEWAY_ANSWERS:
            raise CloudUnreachable(f"HTTP {resp.status} from {self.registry_url}")
        if resp.status != 200:
            raise RegistrationFailed(f"HTTP {resp.status}: {data.get('detail', data)}")
        return data

    def signed_sheet(self) -> Sheet:
        """The registration sheet naming this registry, signed with the device key."""
        sheet = sheet_for(self.state, self.kind, self.model)
        return sheet.sign_with(self.state.private_key(), self.registry_url, int(time.time()))

    async def run(
        self, say: Say, fallback: Fallback | None = None, retry_interval: float = 10.0
    ) -> Identity:
        """Register, show the claim code, poll until claimed (new code on expiry). When
        the cloud cannot be reached and there is a ``fallback``, hand it the signed sheet
        once and try again every ``retry_interval`` seconds: the sheet may be relayed
        meanwhile, and then the device redeems its identity."""
        registration = await self._reach(say, fallback, retry_interval)
        if registration.get("status") == "claimed":
            return self._claimed(registration, say)
        _announce(registration, say)
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                status = await self.poll(registration)
            except UNREACHABLE as exc:
                say(f"The cloud cannot be reached ({_reason(exc)}); trying again.")
                continue
            if status.get("status") == "claimed":
                return self._claimed(status, say)
            if status.get("status") == "expired":
                say("The claim code expired; asking for a new one.")
                registration = await self._reach(say, fallback, retry_interval)
                if registration.get("status") == "claimed":
                    return self._claimed(registration, say)
                _announce(registration, say)

    async def _reach(
        self, say: Say, fallback: Fallback | None, retry_interval: float
    ) -> dict[str, Any]:
        """A pending registration, or the claimed one when the device was claimed already."""
        sheet_out = False
        while True:
            try:
                try:
                    return await self.start()
                except AlreadyClaimed:
                    claimed = await self.redeem()
                    if claimed is None:
                        raise
                    return claimed
            except CloudUnreachable as exc:
                if fallback is None:
                    raise
                say(f"The cloud cannot be reached ({exc}); trying again every "
                    f"{retry_interval:g} s.")  # fmt: skip
                if not sheet_out:
                    await fallback(self.signed_sheet())
                    sheet_out = True
            await asyncio.sleep(retry_interval)

    def _claimed(self, status: dict[str, Any], say: Say) -> Identity:
        identity = Identity(
            uuid.UUID(status["device_id"]), uuid.UUID(status["tenant_id"]), self.kind
        )
        self.state.save_identity(identity)
        self.state.save_cloud(gateway_url=status.get("gateway_url"), api_url=status.get("api_url"))
        say(f"Claimed: device {identity.device_id} in tenant {identity.tenant_id}.")
        return identity


def _reason(exc: BaseException) -> str:
    """A short reason for a failed request, for people (a timeout has no message)."""
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    return str(exc) or type(exc).__name__


def _announce(registration: dict[str, Any], say: Say) -> None:
    say(f"Claim code: {registration.get('claim_code', '?')}")
    if registration.get("claim_url"):
        say(f"Claim URL:  {registration['claim_url']}")
    say(f"Expires:    {registration.get('expires_at', '?')}")
    say("Waiting for an administrator to claim this device...")


# ---------------------------------------------------------------------- offline sheet


def sheet_for(state: StateDir, kind: Kind, model: str, *, new_code: bool = False) -> Sheet:
    """The registration sheet; its claim code is kept in sheet.json so reprints match."""
    saved = state.read_json("sheet.json") or {}
    if new_code or saved.get("kind") != kind or saved.get("model") != model:
        saved = {"claim_code": new_claim_code(), "kind": kind, "model": model}
        state.write_json("sheet.json", saved)
    key = DeviceKey.parse(b64url_encode(state.public_der()))
    return Sheet(saved["claim_code"], kind, model, key)


def grouped(fingerprint: str, group: int = 4, per_line: int = 8) -> list[str]:
    """A fingerprint in groups of four, eight groups a line, for reading aloud."""
    groups = [fingerprint[i : i + group] for i in range(0, len(fingerprint), group)]
    return [" ".join(groups[i : i + per_line]) for i in range(0, len(groups), per_line)]


def sheet_lines(sheet: Sheet) -> list[str]:
    """What a person reads on the sheet: code, model, fingerprint, the cloud, how to relay."""
    lines = [
        "PRINTCLOUD REGISTRATION SHEET",
        "",
        f"Claim code:  {display_claim_code(sheet.claim_code)}",
        f"Kind:        {sheet.kind}",
        f"Model:       {sheet.model}",
    ]
    if sheet.signed:
        lines.append(f"Cloud:       {sheet.cloud_url}")
    return [
        *lines,
        "Key fingerprint (SHA-256):",
        *(f"  {line}" for line in grouped(sheet.key.fingerprint)),
        "",
        "An administrator relays this sheet (scan the QR code with `printcloud phone relay`,",
        "or pass the line below to it); the device joins when it next reaches the cloud.",
    ]


def sheet_text(sheet: Sheet, *, qr: bool = True) -> str:
    """The sheet as text: code, model, fingerprint, the QR payload line, the QR code."""
    lines = [*sheet_lines(sheet), "", sheet.payload()]
    if qr:
        code = terminal_qr(sheet.payload())
        if code:
            lines += ["", code]
    return "\n".join(lines) + "\n"


def terminal_qr(payload: str) -> str | None:
    """The payload as a QR code drawn with text characters (None without ``qrcode``)."""
    try:
        import qrcode  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - a declared dependency, but optional at run time
        return None
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(payload)
    code.make(fit=True)
    out = io.StringIO()
    code.print_ascii(out=out, invert=True)
    return out.getvalue().rstrip("\n")
