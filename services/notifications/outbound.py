"""Outbound safety: which URLs a webhook may go to.

An endpoint's URL is checked when it is subscribed and again at every attempt: https
only (unless ``allow_http``), no credentials in the URL, and its host must resolve only
to public unicast addresses — loopback, private, link-local, metadata and other special
addresses are refused unless an operator's ``allowed_networks`` holds them. At delivery
the resolver checks the addresses it hands to the connection, so the address checked is
the address called (a name re-resolving to an internal address between the check and
the call gains nothing). Redirects are never followed: a 3xx is a failed attempt, and its
log line says where it pointed and whether that would have been refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from services.notifications.domain.model import Network, address_refusal, parse_networks

RESOLVE_TIMEOUT_S = 5.0


class AddressRefused(OSError):
    """The webhook's host resolves to an address this service may not call."""


class UrlPolicy:
    """The rules an endpoint URL must pass (at subscription and at each attempt)."""

    def __init__(self, *, allow_http: bool, allowed_networks: list[str]) -> None:
        self.allow_http = allow_http
        self.networks: list[Network] = parse_networks(allowed_networks)

    def form_refusal(self, url: str) -> str | None:
        """Why the URL's form is refused (scheme, credentials, host), or None."""
        parts = urlsplit(url)
        schemes = ("https", "http") if self.allow_http else ("https",)
        if parts.scheme not in schemes:
            return "only https URLs are accepted" if not self.allow_http else "not an http(s) URL"
        if parts.username or parts.password:
            return "a URL may not carry credentials"
        if not parts.hostname:
            return "the URL has no host"
        try:
            _ = parts.port
        except ValueError:
            return "the URL's port is not a number from 0 to 65535"
        return None

    def literal_refusal(self, host: str) -> str | None:
        """For a host that is an IP address: why it is refused; None otherwise."""
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return None
        return address_refusal(host, self.networks)

    async def refusal(self, url: str) -> str | None:
        """Why a webhook may not go to ``url`` now (resolving its host), or None."""
        if (why := self.form_refusal(url)) is not None:
            return why
        host = urlsplit(url).hostname or ""
        if (why := self.literal_refusal(host)) is not None:
            return why
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, None, type=socket.SOCK_STREAM
                )
        except TimeoutError:
            return f"{host} does not resolve within {RESOLVE_TIMEOUT_S:g} s"
        except OSError:
            return f"{host} does not resolve"
        for info in infos:
            if (why := address_refusal(str(info[4][0]), self.networks)) is not None:
                return f"{host} resolves to {why.split(' ', 1)[0]}, which {why.split(' ', 1)[1]}"
        return None


class CheckedResolver(ThreadedResolver):
    """Resolves a webhook's host and refuses it when any address is not allowed; the
    connection uses exactly the addresses checked here (pinned)."""

    def __init__(self, policy: UrlPolicy) -> None:
        super().__init__()
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        for r in results:
            if (why := address_refusal(r["host"], self._policy.networks)) is not None:
                raise AddressRefused(f"refused: {host} resolves to {why}")
        return results
