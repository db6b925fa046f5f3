"""Endpoints: what tenant administrators subscribe, change, rotate and remove."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.notifications.domain.commands import CreateEndpoint, RotateSecret, UpdateEndpoint
from services.notifications.domain.errors import EndpointNotFound, SecretsUnavailable
from services.notifications.domain.model import Endpoint, Secret
from services.notifications.repository import EndpointRepository
from shared.crypto.sealing import KeyEncryptionKey
from shared.db.uow import Transactions
from shared.errors import FieldError, ValidationFailed
from shared.http.auth import Principal

UrlCheck = Callable[[str], Awaitable[str | None]]
"""Why a URL may not receive webhooks (None: it may)."""


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _sealed(
    kek: KeyEncryptionKey | None, endpoint_id: uuid.UUID, secret: str, now: datetime
) -> Secret:
    if kek is None:
        raise SecretsUnavailable("no key-encryption key is configured for webhook secrets")
    sealed = kek.seal(secret.encode(), aad=endpoint_id.bytes)
    return Secret(id=uuid.uuid4(), endpoint_id=endpoint_id, sealed=sealed, created_at=now)


async def _checked(check: UrlCheck, url: str) -> None:
    if (why := await check(url)) is not None:
        raise ValidationFailed("the URL cannot receive webhooks", [FieldError("url", why)])


def owning_tenant(who: Principal, requested: uuid.UUID | None) -> uuid.UUID:
    """Whose endpoint this is: the caller's tenant, or for operators the one they name."""
    own = who.tenant_scope()
    if own is None and requested is None:
        raise ValidationFailed(
            "name the tenant", [FieldError("tenant_id", "an operator names the tenant")]
        )
    if own is not None and requested not in (None, own):
        raise ValidationFailed("unknown tenant", [FieldError("tenant_id", "unknown tenant")])
    tenant = own or requested
    assert tenant is not None
    return tenant


def _visible(endpoint: Endpoint | None, who: Principal) -> Endpoint:
    if endpoint is None or not who.can_access(endpoint.tenant_id):
        raise EndpointNotFound("no such webhook endpoint")
    return endpoint


async def create_endpoint(
    tx: Transactions[EndpointRepository],
    cmd: CreateEndpoint,
    who: Principal,
    kek: KeyEncryptionKey | None,
    check: UrlCheck,
) -> tuple[Endpoint, str]:
    """Subscribe a URL for the caller's tenant; the endpoint and its secret (shown once)."""
    tenant = owning_tenant(who, cmd.tenant_id)
    await _checked(check, cmd.url)
    now = datetime.now(UTC)
    endpoint = Endpoint(
        id=uuid.uuid4(), tenant_id=tenant, url=cmd.url, description=cmd.description,
        event_types=tuple(dict.fromkeys(cmd.event_types)), printer_ids=tuple(cmd.printer_ids),
        user_ids=tuple(cmd.user_ids), token_ids=tuple(cmd.token_ids),
    )  # fmt: skip
    secret = new_secret()
    sealed = _sealed(kek, endpoint.id, secret, now)
    async with tx() as uow:
        stored = await uow.repo.insert_endpoint(endpoint)
        await uow.repo.add_secret(sealed)
        return stored, secret


async def get_endpoint(
    tx: Transactions[EndpointRepository], endpoint_id: uuid.UUID, who: Principal
) -> Endpoint:
    """An endpoint the caller may see."""
    async with tx() as uow:
        return _visible(await uow.repo.get_endpoint(endpoint_id), who)


async def list_endpoints(
    tx: Transactions[EndpointRepository], who: Principal, after: uuid.UUID | None, limit: int
) -> list[Endpoint]:
    """The caller's tenant's endpoints (every tenant's for operators)."""
    async with tx() as uow:
        return await uow.repo.list_endpoints(who.tenant_scope(), after, limit)


async def update_endpoint(
    tx: Transactions[EndpointRepository],
    endpoint_id: uuid.UUID,
    cmd: UpdateEndpoint,
    who: Principal,
    check: UrlCheck,
) -> Endpoint:
    """Change an endpoint; a new URL is checked like a new endpoint's; ``enabled: true``
    ends a disabled endpoint's pause (and its run of failures)."""
    changes = cmd.changes()
    if "url" in changes:
        await _checked(check, changes["url"])
    if changes.get("event_types") is not None:
        changes["event_types"] = list(dict.fromkeys(changes["event_types"]))
    if changes.get("enabled") is True:
        changes.update(disabled_reason=None, consecutive_failures=0, failing_since=None)
    elif changes.get("enabled") is False:
        changes["disabled_reason"] = "disabled by an administrator"
    async with tx() as uow:
        _visible(await uow.repo.get_endpoint(endpoint_id, for_update=True), who)
        if not changes:
            return _visible(await uow.repo.get_endpoint(endpoint_id), who)
        return await uow.repo.update_endpoint(endpoint_id, changes)


async def delete_endpoint(
    tx: Transactions[EndpointRepository], endpoint_id: uuid.UUID, who: Principal
) -> None:
    """Remove an endpoint, its secrets and its deliveries."""
    async with tx() as uow:
        _visible(await uow.repo.get_endpoint(endpoint_id, for_update=True), who)
        await uow.repo.delete_endpoint(endpoint_id)


async def rotate_secret(
    tx: Transactions[EndpointRepository],
    endpoint_id: uuid.UUID,
    cmd: RotateSecret,
    who: Principal,
    kek: KeyEncryptionKey | None,
    default_overlap_s: int,
) -> tuple[Endpoint, str, datetime]:
    """A new secret (shown once); the old ones keep signing until the returned time, so
    that receivers accept both while they switch."""
    now = datetime.now(UTC)
    overlap = cmd.overlap_s if cmd.overlap_s is not None else default_overlap_s
    until = now + timedelta(seconds=overlap)
    async with tx() as uow:
        endpoint = _visible(await uow.repo.get_endpoint(endpoint_id, for_update=True), who)
        secret = new_secret()
        await uow.repo.expire_secrets(endpoint_id, until)
        await uow.repo.add_secret(_sealed(kek, endpoint_id, secret, now))
        return replace(endpoint), secret, until
