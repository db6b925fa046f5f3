"""The cloud's HTTP APIs, as a device: a device access token, its jobs, phone-login codes.

The agent proves who it is to auth (``POST /v1/device-token``: its device id and a
timestamp signed with the device key) and gets a short-lived token, kept until
shortly before it expires. Every call carries it; a 401 gets a fresh token and one
more try.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from services.agent.state import StateDir
from shared.crypto.device_token import device_token_request
from shared.logging import get_logger
from shared.printing.settings import JobSettings

log = get_logger(__name__)
TOKEN_MARGIN_S = 60.0


class CloudError(RuntimeError):
    """The cloud refused or failed a call; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0, problem: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.problem = problem


class NotClaimed(CloudError):
    """The agent does not know its device id yet (it learns it when it first connects)."""


class Document(BaseModel):
    """Where a job's document is and what it must be."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    url: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    format: str


class DeviceJob(BaseModel):
    """One job in a printer's queue, as ``GET /v1/devices/me/jobs`` lists it."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    job_id: uuid.UUID
    printer_id: uuid.UUID
    title: str = ""
    pages: int | None = None
    owner_display_name: str = Field(
        default="", validation_alias=AliasChoices("owner_name", "owner_display_name")
    )
    release: Any = None
    document: Document
    settings: JobSettings = Field(default_factory=JobSettings)
    fetchable: bool = True
    requires_login: bool = False


class JobList(BaseModel):
    """The answer of ``GET /v1/devices/me/jobs``."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    items: list[DeviceJob]


class DeviceToken:
    """The device's access token: asked for when needed, kept until shortly before expiry."""

    def __init__(
        self, api_url: str, state: StateDir, http: aiohttp.ClientSession,
        clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self.api_url = api_url.rstrip("/")
        self.state = state
        self.http = http
        self.clock = clock
        self._token: str | None = None
        self._expires = 0.0
        self._last_stamp = 0
        self._lock = asyncio.Lock()

    def invalidate(self, token: str) -> None:
        """The cloud refused ``token``: the next call asks for a new one."""
        if self._token == token:
            self._token = None

    async def get(self) -> str:
        """A token valid for at least a little longer."""
        async with self._lock:
            if self._token is None or self.clock() >= self._expires:
                await self._fetch()
            assert self._token is not None
            return self._token

    async def _fetch(self) -> None:
        identity = await asyncio.to_thread(self.state.identity)
        if identity is None:
            raise NotClaimed("the device does not know its identity yet")
        key = await asyncio.to_thread(self.state.private_key)
        # The server refuses a timestamp it has seen: never reuse one.
        stamp = max(int(self.clock()), self._last_stamp + 1)
        self._last_stamp = stamp
        body = device_token_request(key, identity.device_id, timestamp=stamp)
        try:
            async with self.http.post(f"{self.api_url}/v1/device-token", json=body) as resp:
                data = await read_json(resp)
                if resp.status != 200:
                    raise refusal("device token refused", resp.status, data)
        except aiohttp.ClientError as exc:
            raise CloudError(f"device token: {exc}") from exc
        expires_in = float(data.get("expires_in", 300))
        self._token = str(data["access_token"])
        self._expires = self.clock() + max(expires_in - min(TOKEN_MARGIN_S, expires_in / 5), 1)
        log.info("device token obtained", expires_in=expires_in)


class CloudApi:
    """Calls to the public API as this device."""

    def __init__(self, api_url: str, state: StateDir, http: aiohttp.ClientSession) -> None:
        self.api_url = api_url.rstrip("/")
        self.http = http
        self.token = DeviceToken(api_url, state, http)

    def url(self, path_or_url: str) -> str:
        """An absolute URL (the cloud may answer with paths)."""
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.api_url + "/" + path_or_url.lstrip("/")

    @asynccontextmanager
    async def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """An authenticated request; a 401 refreshes the token and tries once more."""
        url = self.url(path)
        for attempt in (1, 2):
            token = await self.token.get()
            sent = {**(headers or {}), "Authorization": f"Bearer {token}"}
            try:
                resp = await self.http.request(method, url, headers=sent, **kwargs)
            except aiohttp.ClientError as exc:
                raise CloudError(f"{method} {url}: {exc}") from exc
            if resp.status == 401 and attempt == 1:
                resp.release()
                self.token.invalidate(token)
                continue
            try:
                yield resp
            finally:
                resp.release()
            return

    def get(
        self, url: str, *, headers: dict[str, str] | None = None
    ) -> AbstractAsyncContextManager[aiohttp.ClientResponse]:
        """An authenticated GET (documents)."""
        return self.request("GET", url, headers=headers)

    async def jobs(self) -> list[DeviceJob]:
        """The jobs queued at this device (for a connector: at each bridged printer)."""
        async with self.request("GET", "/v1/devices/me/jobs") as resp:
            data = await read_json(resp)
            if resp.status != 200:
                raise refusal("listing jobs failed", resp.status, data)
        return JobList.model_validate(data).items

    async def virtual_printers(self) -> list[dict[str, Any]]:
        """The virtual printers this device's printers are members of (their id, name,
        members and effective capabilities)."""
        async with self.request("GET", "/v1/devices/me/virtual-printers") as resp:
            data = await read_json(resp)
            if resp.status != 200:
                raise refusal("listing virtual printers failed", resp.status, data)
        return list(data.get("items", []))

    async def scans(self) -> list[dict[str, Any]]:
        """The scans waiting at this device's printers (each names the phone's key)."""
        async with self.request("GET", "/v1/devices/me/scans") as resp:
            data = await read_json(resp)
            if resp.status != 200:
                raise refusal("listing scans failed", resp.status, data)
        return list(data.get("items", []))

    async def login_challenge(self, printer_id: uuid.UUID | None = None) -> dict[str, Any]:
        """A phone-login code for the printer (``printer_id``: a bridged printer)."""
        body = {"printer_id": str(printer_id)} if printer_id else {}
        async with self.request("POST", "/v1/devices/me/login-challenges", json=body) as resp:
            data = await read_json(resp)
            if resp.status not in (200, 201):
                raise refusal("login challenge refused", resp.status, data)
        if not isinstance(data.get("qr_payload"), str):
            raise CloudError("login challenge without a qr_payload", resp.status)
        return data


async def read_json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    """The JSON object of an answer (or its text, short, as ``detail``)."""
    try:
        data = await resp.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return {"detail": (await resp.text())[:200]}
    return data if isinstance(data, dict) else {"detail": str(data)[:200]}


def refusal(what: str, status: int, data: dict[str, Any]) -> CloudError:
    """The error for a refused call, naming the problem (problem+json ``type``)."""
    problem = str(data.get("type", "")).rsplit("/", 1)[-1]
    detail = data.get("detail") or data.get("title") or ""
    return CloudError(f"{what}: HTTP {status} {detail}".rstrip(), status, problem)
