"""DNS-SD (multicast DNS) advertisement of the cloud queues an agent fronts, so that a
laptop or phone on the site's network finds the printer without typing a URL.

Opt-in (``agent run --advertise``). Each printer the agent serves is announced as the
IPP Everywhere printer it is in the cloud: ``_ipp._tcp`` (``_ipps._tcp`` when the
platform's public URL is https) with the IPP Everywhere and AirPrint TXT keys. The
service's host and port are the platform's edge (the SRV target is its host name, the
address records its addresses), so clients print to the cloud queue directly, with the
user's credentials; the agent's host serves nothing new. python-zeroconf does the
multicast DNS (probing, announcing, answering queries, goodbyes on close).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf

from shared.logging import get_logger
from shared.printing import driverless
from shared.printing.capabilities import Capabilities

log = get_logger(__name__)

IPP = "_ipp._tcp.local."
IPPS = "_ipps._tcp.local."
# CUPS' printer-type bits (cups.h): black, colour, duplex, copies, collate, A4/letter.
_BW, _COLOR, _DUPLEX, _COPIES, _COLLATE, _MEDIUM = 0x4, 0x8, 0x10, 0x40, 0x80, 0x2000


@dataclass(frozen=True)
class Queue:
    """A cloud queue to advertise: a Printcloud printer and what it can do."""

    printer_id: uuid.UUID
    name: str
    location: str
    capabilities: Capabilities


@dataclass(frozen=True)
class Edge:
    """Where clients reach the platform: scheme, host name and port of its public URL."""

    secure: bool
    host: str
    port: int

    @classmethod
    def of(cls, api_url: str) -> Edge:
        parts = urlsplit(api_url)
        secure = parts.scheme == "https"
        if parts.hostname is None:
            raise ValueError(f"no host in {api_url!r}")
        return cls(secure, parts.hostname, parts.port or (443 if secure else 80))

    def uri(self, printer_id: uuid.UUID) -> str:
        """The printer's IPP URI (what the TXT record's rp names on this host and port)."""
        scheme = "ipps" if self.secure else "ipp"
        return f"{scheme}://{self.host}:{self.port}{driverless.printer_path(printer_id)}"


def printer_type(caps: Capabilities) -> int:
    """CUPS' printer-type bit field for the TXT record."""
    bits = _BW | _MEDIUM
    if driverless.colour(caps):
        bits |= _COLOR
    if driverless.duplex(caps):
        bits |= _DUPLEX
    if caps.copies_supported.max > 1:
        bits |= _COPIES | _COLLATE
    return bits


def txt_record(queue: Queue, edge: Edge) -> dict[str, str]:
    """The TXT keys of IPP Everywhere (PWG 5100.14 §4.2) and AirPrint for ``queue``."""
    caps = queue.capabilities
    path = driverless.printer_path(queue.printer_id)
    admin = f"{'https' if edge.secure else 'http'}://{edge.host}:{edge.port}{path}"
    txt = {
        "txtvers": "1",
        "qtotal": "1",
        "rp": path.lstrip("/"),
        "ty": queue.name[:127],
        "product": "(Printcloud)",
        "note": queue.location[:127],
        "adminurl": admin,
        "pdl": ",".join(driverless.formats(caps)),
        "URF": ",".join(driverless.urf_supported(caps)),
        "Color": "T" if driverless.colour(caps) else "F",
        "Duplex": "T" if driverless.duplex(caps) else "F",
        "UUID": str(driverless.printer_uuid(queue.printer_id)),
        "printer-type": hex(printer_type(caps)),
        "printer-state": "3",
        "kind": "document",
        "priority": "50",
        "air": "username,password",  # HTTP Basic: e-mail address and API token
    }
    if edge.secure:
        txt["TLS"] = "1.2"
    return txt


def instance_name(queue: Queue) -> str:
    """The DNS-SD instance name (at most 63 octets, the printer's name)."""
    name = queue.name or f"Printcloud {str(queue.printer_id)[:8]}"
    return name.encode()[:63].decode(errors="ignore").replace(".", " ")


async def edge_addresses(host: str) -> list[bytes]:
    """The edge's IPv4 addresses (packed), from the resolver the agent uses."""
    try:
        return [ipaddress.IPv4Address(host).packed]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, family=socket.AF_INET)
    return sorted({socket.inet_aton(str(info[4][0])) for info in infos})


class Advertiser:
    """The agent's DNS-SD announcements, kept in step with the queues it fronts."""

    def __init__(self, api_url: str, interfaces: list[str] | None = None) -> None:
        self.edge = Edge.of(api_url)
        self.interfaces = interfaces
        self._zc: AsyncZeroconf | None = None
        self._published: dict[uuid.UUID, tuple[tuple[object, ...], ServiceInfo]] = {}

    def info(self, queue: Queue, addresses: list[bytes], name: str | None = None) -> ServiceInfo:
        """The DNS-SD service of ``queue``: SRV to the edge, TXT with its capabilities."""
        kind = IPPS if self.edge.secure else IPP
        return ServiceInfo(
            kind, name or f"{instance_name(queue)}.{kind}", port=self.edge.port,
            properties=txt_record(queue, self.edge), server=f"{self.edge.host}.",
            addresses=addresses,
        )  # fmt: skip

    async def publish(self, queues: list[Queue]) -> None:
        """Announce new queues, update changed ones, withdraw those no longer fronted."""
        if self._zc is None:
            self._zc = AsyncZeroconf(
                interfaces=self.interfaces or "all",
                ip_version=IPVersion.V4Only,
            )
        addresses = await edge_addresses(self.edge.host)
        wanted = {q.printer_id: q for q in queues}
        for printer_id in [p for p in self._published if p not in wanted]:
            await self._zc.async_unregister_service(self._published.pop(printer_id)[1])
        for printer_id, queue in wanted.items():
            key = (instance_name(queue), tuple(sorted(txt_record(queue, self.edge).items())))
            old = self._published.get(printer_id)
            if old is not None and old[0] == key:
                continue
            info = self.info(queue, addresses)
            if old is not None and old[0][0] == key[0]:  # same name (as registered): new TXT
                info = self.info(queue, addresses, name=old[1].name)
                await self._zc.async_update_service(info)
            else:
                if old is not None:
                    await self._zc.async_unregister_service(old[1])
                await self._zc.async_register_service(info, allow_name_change=True)
                log.info("advertising", name=info.name, uri=self.edge.uri(printer_id))
            self._published[printer_id] = (key, info)

    async def close(self) -> None:
        """Withdraw every announcement (goodbye packets) and stop answering."""
        if self._zc is not None:
            await self._zc.async_unregister_all_services()
            await self._zc.async_close()
            self._zc = None
        self._published.clear()


async def advertise_loop(
    advertiser: Advertiser,
    queues: Callable[[], Awaitable[list[Queue]]],
    stop: asyncio.Event,
    interval: float,
) -> None:
    """Keep the announcements in step with ``queues()`` every ``interval`` seconds until
    ``stop``; withdraw them all on the way out. A failure is logged and retried."""
    try:
        while not stop.is_set():
            try:
                await advertiser.publish(await queues())
            except Exception:
                log.exception("DNS-SD advertisement failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    finally:
        await advertiser.close()
