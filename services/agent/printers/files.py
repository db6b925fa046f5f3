"""Files for a device (firmware, templates, settings files), sent over its own protocol.

IPP has no operation to hand a printer a file that is not a job, so each kind of
device is reached through a transport chosen by the scheme of its file endpoint
(``files_uri`` in the connector's device list). The one built in is HTTP(S): the
file goes as ``PUT {files_uri}/{delivery_id}`` with its ``purpose`` and ``name`` as
query parameters, and ``HEAD {files_uri}/{delivery_id}`` answers 200 once the device
has it. The delivery id (the command's id) is how a connector that stopped between
sending and recording asks the device whether it already has the file, so nothing
is ever sent twice. Other device protocols plug in as another :class:`FileTransport`
in :data:`TRANSPORTS`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from services.agent.printers import DeviceUnreachable, OutcomeUnknown, PrintRefused


@dataclass(frozen=True)
class FileDelivery:
    """One file for one device; ``delivery_id`` names it at the device."""

    delivery_id: uuid.UUID
    purpose: str
    name: str
    content: bytes


class FileTransport(Protocol):
    """How files reach one device."""

    @property
    def address(self) -> str:
        """The device's file endpoint, for logs and details."""
        ...

    async def has(self, delivery_id: uuid.UUID) -> bool:
        """Whether the device already has delivery ``delivery_id``."""
        ...

    async def send(self, delivery: FileDelivery) -> None:
        """Hand the file over: DeviceUnreachable (certainly not sent), OutcomeUnknown
        (no answer), PrintRefused (the device said no)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class HttpFiles:
    """A device that takes files over HTTP(S) at ``base``."""

    def __init__(self, base: str, timeout: float = 60.0) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def address(self) -> str:
        return self.base

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=self.timeout, sock_connect=min(self.timeout, 5))
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session

    async def has(self, delivery_id: uuid.UUID) -> bool:
        try:
            async with self._http().head(f"{self.base}/{delivery_id}") as resp:
                if resp.status in (200, 404):
                    return resp.status == 200
                raise DeviceUnreachable(self.base)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeviceUnreachable(self.base) from exc

    async def send(self, delivery: FileDelivery) -> None:
        url = f"{self.base}/{delivery.delivery_id}"
        params = {"purpose": delivery.purpose, "name": delivery.name}
        try:
            async with self._http().put(url, params=params, data=delivery.content) as resp:
                if resp.status in (200, 201, 204):
                    return
                reason = (await resp.text())[:200]
                raise PrintRefused(f"{self.base} refused the file: {resp.status} {reason}")
        except aiohttp.ClientConnectorError as exc:
            raise DeviceUnreachable(self.base) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise OutcomeUnknown(f"no answer from {self.base} to the file") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


TRANSPORTS: dict[str, Callable[[str], FileTransport]] = {"http": HttpFiles, "https": HttpFiles}
"""URI scheme -> the transport for a device's file endpoint."""


def file_transport(uri: str | None) -> FileTransport | None:
    """The transport for a file endpoint (None: the device takes no files)."""
    if not uri:
        return None
    make = TRANSPORTS.get(uri.split("://", 1)[0].lower())
    if make is None:
        raise ValueError(f"no file transport for {uri}")
    return make(uri)
