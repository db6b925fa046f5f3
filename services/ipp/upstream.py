"""The platform's public HTTP API as the IPP endpoint uses it: with the requesting
user's own access token, through the edge (``api_url``), never another service's code."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from services.ipp.domain.model import Marker, Target, virtual_target
from shared.http.publicapi import ApiError, PublicApi
from shared.printing.capabilities import Capabilities

MAX_MEMBERS = 32
"""The member printers whose presence and supplies a virtual printer's attributes read."""


@dataclass(frozen=True)
class AccessToken:
    """An access token and when to stop reusing it (monotonic seconds)."""

    token: str
    until: float


class TokenCache:
    """API token -> access token, reused for ``ttl_s`` and never past the token's life."""

    def __init__(self, ttl_s: float, size: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._tokens: dict[str, AccessToken] = {}

    def get(self, api_token: str) -> str | None:
        found = self._tokens.get(api_token)
        if found is None or found.until < time.monotonic():
            self._tokens.pop(api_token, None)
            return None
        return found.token

    def put(self, api_token: str, token: str, expires_in: float) -> None:
        if len(self._tokens) >= self.size:
            self._tokens.clear()
        life = min(self.ttl_s, max(0.0, expires_in - 30))
        self._tokens[api_token] = AccessToken(token, time.monotonic() + life)

    def forget(self, api_token: str) -> None:
        self._tokens.pop(api_token, None)


class PrintcloudApi(PublicApi):
    """Calls of one request, as its user."""

    async def exchange(self, api_token: str) -> tuple[str, float]:
        """An access token for ``api_token`` (``POST /v1/token``) and its lifetime (s)."""
        body = await self.call(
            "POST", "/v1/token", json={"grant_type": "api_token", "api_token": api_token}
        )
        return str(body["access_token"]), float(body.get("expires_in", 300))

    async def target(self, target_id: uuid.UUID) -> tuple[Target, Capabilities]:
        """The printer or virtual printer ``target_id`` and its capabilities (404 when
        neither exists for this user)."""
        try:
            printer = await self.call("GET", f"/v1/printers/{target_id}")
        except ApiError as exc:
            if exc.status != 404:
                raise
            vp = await self.call("GET", f"/v1/virtual-printers/{target_id}")
            caps = Capabilities.model_validate(vp.get("effective_capabilities") or {})
            ids = [uuid.UUID(str(m)) for m in vp.get("members", [])[:MAX_MEMBERS]]
            members = await asyncio.gather(*(self.member(m) for m in ids))
            return virtual_target(
                target_id, str(vp.get("name", "")), str(vp.get("location") or ""), members
            ), caps
        try:
            reported = await self.call("GET", f"/v1/printers/{target_id}/capabilities")
            caps = Capabilities.model_validate(reported["capabilities"])
        except ApiError as exc:
            if exc.status != 404:
                raise
            caps = Capabilities(document_format_supported=["application/pdf"])
        return Target(
            target_id, "printer", str(printer.get("name", "")),
            str(printer.get("location") or printer.get("region") or ""),
            str(printer.get("model") or "Printcloud printer"),
            printer.get("connection_state") == "online", await self.markers(target_id),
        ), caps  # fmt: skip

    async def member(self, printer_id: uuid.UUID) -> Target:
        """A virtual printer's member printer: its presence and supplies (offline when
        it cannot be read)."""
        try:
            printer = await self.call("GET", f"/v1/printers/{printer_id}")
        except ApiError:
            return Target(printer_id, "printer", "", "", "", False)
        return Target(
            printer_id, "printer", str(printer.get("name", "")), "", "",
            printer.get("connection_state") == "online", await self.markers(printer_id),
        )  # fmt: skip

    async def markers(self, printer_id: uuid.UUID) -> tuple[Marker, ...]:
        """The printer's latest supply levels (none when they cannot be read: the
        printer's attributes do not depend on the consumables service)."""
        try:
            body = await self.call(
                "GET", "/v1/supply-levels", params={"printer_id": str(printer_id)}
            )
        except ApiError:
            return ()
        return tuple(
            Marker(str(i.get("name") or ""), str(i.get("kind", "other")),
                   str(i.get("colour", "none")), i.get("level_percent"),
                   i.get("low_since") is not None)
            for i in body.get("items", [])[:32]
        )  # fmt: skip

    async def upload(
        self, chunks: AsyncIterator[bytes], document_format: str, title: str
    ) -> dict[str, Any]:
        """Stream a document to ``POST /v1/documents``; the stored document."""
        body: dict[str, Any] = await self.call(
            "POST", "/v1/documents", data=chunks, params={"title": title[:500]},
            headers={"Content-Type": document_format},
        )  # fmt: skip
        return body

    async def submit(
        self, document_id: str, target: Target, settings: dict[str, Any], title: str
    ) -> dict[str, Any]:
        """``POST /v1/jobs`` for a stored document; the job."""
        key = "printer_id" if target.kind == "printer" else "virtual_printer_id"
        job = {"document_id": document_id, key: str(target.id), "settings": settings,
               "title": title[:500]}  # fmt: skip
        body: dict[str, Any] = await self.call("POST", "/v1/jobs", json=job)
        return body

    async def job(self, job_id: uuid.UUID) -> dict[str, Any]:
        """``GET /v1/jobs/{id}``."""
        body: dict[str, Any] = await self.call("GET", f"/v1/jobs/{job_id}")
        return body

    async def cancel(self, job_id: uuid.UUID) -> dict[str, Any]:
        """``POST /v1/jobs/{id}/cancel``."""
        body: dict[str, Any] = await self.call("POST", f"/v1/jobs/{job_id}/cancel")
        return body

    async def identify(self, printer_id: uuid.UUID) -> None:
        """``POST /v1/devices/{id}/commands`` ``identify``: the device shows itself (its
        agent delivers it to the printer; the registry allows it to administrators)."""
        await self.call(
            "POST", f"/v1/devices/{printer_id}/commands", json={"name": "identify", "payload": {}}
        )
