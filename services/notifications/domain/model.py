"""Endpoints, what they hear, and deliveries: pure values and rules, no I/O."""

from __future__ import annotations

import ipaddress
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

JOB_TYPES = (
    "job.submitted", "job.held", "job.queued", "job.moved", "job.sent", "job.printing",
    "job.completed", "job.failed", "job.canceled", "job.expired",
)  # fmt: skip
WEBHOOK_TYPES = (
    *JOB_TYPES,
    "printer.connection_changed",
    "supply.level_warning",
    "quota.exceeded",
    "device.claimed",
)
"""The event types an endpoint may subscribe to (``job.*`` and ``*`` name several)."""

DeliveryState = Literal["pending", "succeeded", "failed"]
"""pending: to be attempted (or in flight); succeeded: a 2xx answer; failed: given up."""


def type_matches(pattern: str, event_type: str) -> bool:
    """Whether a subscription pattern (``job.completed``, ``job.*``, ``*``) names a type."""
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def valid_pattern(pattern: str) -> bool:
    """Whether ``pattern`` names at least one webhook type."""
    return any(type_matches(pattern, t) for t in WEBHOOK_TYPES)


@dataclass(frozen=True)
class Notice:
    """One event as tenants hear it: what the filters look at and the body's ``data``."""

    event_id: uuid.UUID
    type: str
    tenant_id: uuid.UUID
    occurred_at: datetime
    order_key: str
    """Deliveries of one key (a job, a printer) go out in order."""
    data: dict[str, Any]
    printer_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None
    job_id: uuid.UUID | None = None

    def body(self) -> dict[str, Any]:
        """The webhook body (Standard Webhooks: type, timestamp, data)."""
        return {"type": self.type, "timestamp": self.occurred_at.isoformat(), "data": self.data}


@dataclass(frozen=True)
class Endpoint:
    """A tenant's URL subscribed to event types, narrowed by printers, users or tokens."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    url: str
    description: str
    event_types: tuple[str, ...]
    printer_ids: tuple[uuid.UUID, ...] = ()
    user_ids: tuple[uuid.UUID, ...] = ()
    token_ids: tuple[uuid.UUID, ...] = ()
    enabled: bool = True
    disabled_reason: str | None = None
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def matches(self, notice: Notice) -> bool:
        """Whether this endpoint hears ``notice`` (its tenant, a type it names, its filters;
        an empty filter lets everything through)."""
        return (
            self.enabled
            and notice.tenant_id == self.tenant_id
            and any(type_matches(p, notice.type) for p in self.event_types)
            and _passes(self.printer_ids, notice.printer_id)
            and _passes(self.user_ids, notice.user_id)
            and _passes(self.token_ids, notice.token_id)
        )

    def should_disable(self, now: datetime, *, after_failures: int, after_s: float) -> bool:
        """Whether the endpoint has failed long and often enough to be switched off."""
        return (
            self.enabled
            and self.failing_since is not None
            and self.consecutive_failures >= after_failures
            and now - self.failing_since >= timedelta(seconds=after_s)
        )


def _passes(allowed: tuple[uuid.UUID, ...], value: uuid.UUID | None) -> bool:
    return not allowed or (value is not None and value in allowed)


@dataclass(frozen=True)
class Secret:
    """One signing secret of an endpoint; several sign during a rotation's overlap."""

    id: uuid.UUID
    endpoint_id: uuid.UUID
    sealed: bytes
    created_at: datetime
    expires_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        """Whether the secret still signs at ``now``."""
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True)
class JobFacts:
    """What notifications remembers of a job to filter its later events."""

    job_id: uuid.UUID
    tenant_id: uuid.UUID
    owner_id: uuid.UUID
    token_id: uuid.UUID | None
    printer_id: uuid.UUID | None
    callback_url: str | None


@dataclass(frozen=True)
class NewDelivery:
    """A notice to send to one URL of one endpoint."""

    endpoint_id: uuid.UUID
    url: str
    notice: Notice
    manual: bool = False


@dataclass(frozen=True)
class Claimed:
    """A delivery leased to this replica for one attempt."""

    id: int
    endpoint_id: uuid.UUID
    url: str
    message_id: uuid.UUID
    event_type: str
    body: str
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class Delivery:
    """One line of an endpoint's delivery log."""

    id: int
    endpoint_id: uuid.UUID
    message_id: uuid.UUID
    event_type: str
    order_key: str
    url: str
    state: DeliveryState
    attempts: int
    manual: bool
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None
    last_latency_ms: int | None
    last_error: str | None
    history: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class Attempt:
    """One attempt at a delivery: the answer's status or why there was none."""

    attempt: int
    at: datetime
    status: int | None
    latency_ms: int
    error: str | None
    response: str


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    status: int | None
    latency_ms: int
    error: str | None = None
    response: str = ""

    @property
    def succeeded(self) -> bool:
        """A 2xx answer: delivered."""
        return self.status is not None and 200 <= self.status < 300


def backoff_s(attempts: int, *, base_s: float, cap_s: float) -> float:
    """Exponential back-off with full jitter after ``attempts`` failed attempts."""
    ceiling = min(cap_s, base_s * 2 ** max(0, attempts - 1))
    return random.uniform(ceiling / 2, ceiling)


def give_up(created_at: datetime, now: datetime, retry_for_s: float) -> bool:
    """Whether a delivery still failing at ``now`` is too old to retry."""
    return now - created_at >= timedelta(seconds=retry_for_s)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)


def address_refusal(address: str, allowed: list[Network]) -> str | None:
    """Why a webhook may not go to ``address`` (None: it may): only public unicast
    addresses, or those inside an operator's allowed networks."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allowed):
        return None
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return f"{ip} is a {kind} address"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def parse_networks(cidrs: list[str]) -> list[Network]:
    """The operator's allow-list as networks."""
    return [ipaddress.ip_network(c, strict=False) for c in cidrs]


def covers(endpoint_url: str, url: str) -> bool:
    """Whether ``url`` lies under ``endpoint_url``: same scheme, host and port, and a path
    at or below the endpoint's (a job's callback may use an endpoint's secret then)."""
    a, b = urlsplit(endpoint_url), urlsplit(url)
    try:
        same_origin = (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)
    except ValueError:
        return False
    base = a.path.rstrip("/")
    return same_origin and (b.path == base or b.path.startswith(base + "/")) and not b.username


def deliveries_for(
    notice: Notice, endpoints: list[Endpoint], callback_url: str | None = None
) -> list[NewDelivery]:
    """Where ``notice`` goes: every endpoint that hears it, and a job's callback URL
    (signed with the secret of the tenant's endpoint it lies under) unless that endpoint
    already gets it at the same URL."""
    out = [NewDelivery(e.id, e.url, notice) for e in endpoints if e.matches(notice)]
    if callback_url is None:
        return out
    owners = [
        e for e in endpoints
        if e.enabled and e.tenant_id == notice.tenant_id and covers(e.url, callback_url)
    ]  # fmt: skip
    if owners and not any(d.url == callback_url for d in out):
        out.append(NewDelivery(owners[0].id, callback_url, notice))
    return out
