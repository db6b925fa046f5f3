"""Who is really calling: the client's address behind trusted proxies.

A service behind the edge (or an ingress) sees the proxy as its peer. The proxy
names the client in ``X-Forwarded-For``; only a proxy we trust may be believed, since
anyone can send the header. Rate limits and audit records key on
:func:`client_address`.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Sequence

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def peer_address(request: web.Request) -> str:
    """The address of the connection's other end, in canonical form when it is an IP."""
    remote = request.remote or ""
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(remote))
    return remote


def is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    """Whether ``address`` lies in one of the ``trusted`` proxy networks."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(request: web.Request, trusted: Sequence[Network]) -> str:
    """The client's address: the peer's own, or — when the peer is a trusted proxy — the
    nearest address in X-Forwarded-For that is not itself a trusted proxy."""
    peer = peer_address(request)
    if not is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for v in request.headers.getall("X-Forwarded-For", []) for h in v.split(",")]
    for hop in reversed([h for h in hops if h]):
        if not is_trusted(hop, trusted):
            with contextlib.suppress(ValueError):
                return str(ipaddress.ip_address(hop))
            return hop[:64]
    return peer
