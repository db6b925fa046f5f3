"""Browsing DNS-SD (multicast DNS) like a laptop on the site network does: which
printers are announced, and their SRV and TXT records."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf


@dataclass(frozen=True)
class Found:
    """One announced service, resolved."""

    name: str
    server: str
    port: int
    addresses: list[str]
    txt: dict[str, str]


class Browser:
    """A zeroconf browser of one service type on some interfaces (``async with``)."""

    def __init__(self, service_type: str, interfaces: list[str]) -> None:
        self.type = service_type
        self.interfaces = interfaces
        self.present: set[str] = set()
        self._zc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None

    async def __aenter__(self) -> Browser:
        self._zc = AsyncZeroconf(interfaces=self.interfaces, ip_version=IPVersion.V4Only)
        self._browser = AsyncServiceBrowser(
            self._zc.zeroconf, [self.type], handlers=[self._changed]
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._browser is not None:
            await self._browser.async_cancel()
        if self._zc is not None:
            await self._zc.async_close()

    def _changed(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            self.present.discard(name)
        else:
            self.present.add(name)

    async def resolve(self, name: str) -> Found | None:
        """The service ``name`` (its SRV, address and TXT records), None when unanswered."""
        assert self._zc is not None
        info = AsyncServiceInfo(self.type, name)
        if not await info.async_request(self._zc.zeroconf, 3000):
            return None
        txt = {
            k.decode(): (v or b"").decode()
            for k, v in info.properties.items()
        }  # fmt: skip
        return Found(name, str(info.server), int(info.port or 0), info.parsed_addresses(), txt)

    async def find(self, starting: str) -> Found | None:
        """A present service whose instance name starts with ``starting``, resolved."""
        for name in sorted(self.present):
            if name.startswith(starting):
                return await self.resolve(name)
        await asyncio.sleep(0)
        return None
