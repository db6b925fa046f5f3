"""Onboarding: a device registers its key, an administrator claims it (online, by
claim code, or by relaying the device's registration sheet), the device reads
its identity back by proving its key."""

from __future__ import annotations

import hmac
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.registry.domain.commands import ClaimDevice, RelaySheet, StartRegistration
from services.registry.domain.errors import (
    AlreadyClaimed,
    ClaimCodeExpired,
    ClaimCodeNotFound,
    DuplicateName,
    RegistrationNotFound,
)
from services.registry.domain.events import ConnectorRegistered, DeviceClaimed
from services.registry.domain.onboarding import (
    DeviceKey,
    Registration,
    Sheet,
    new_claim_code,
    normalize_claim_code,
    poll_message,
    redeem_message,
    register_message,
)
from services.registry.handlers.printers import add_printer
from services.registry.handlers.tenancy import target_tenant, unknown_tenant
from services.registry.repository import RegistryRepository
from services.registry.settings import RegistrySettings
from shared.crypto.keys import load_public_key_bytes
from shared.crypto.signatures import verify
from shared.db.uow import AlreadyExists, Transactions, UnitOfWork
from shared.errors import FieldError, TooManyRequests, Unauthenticated
from shared.http.auth import Principal


async def _reserve(
    tx: Transactions[RegistryRepository], bucket: str, limit: int, window_s: int
) -> int:
    """Count an attempt in ``bucket``, committed, or refuse when the window is full: the
    check and the record are one locked step (concurrent attempts cannot overrun it)."""
    async with tx() as uow:
        attempt = await uow.repo.attempts.reserve(bucket, limit, timedelta(seconds=window_s))
    if attempt is None:
        raise TooManyRequests("too many attempts; wait and try again", retry_after=window_s)
    return attempt


async def _give_back(tx: Transactions[RegistryRepository], attempt: int) -> None:
    async with tx() as uow:
        await uow.repo.attempts.release(attempt)


def proves_key(
    key: DeviceKey, timestamp: int | None, signature: bytes | None, settings: RegistrySettings
) -> bool:
    """Whether the caller signed (fingerprint, timestamp) with the registration's key:
    only the device holding the key is told its claim code."""
    if timestamp is None or signature is None:
        return False
    if abs(timestamp - datetime.now(UTC).timestamp()) > settings.poll_clock_skew_s:
        return False
    public = load_public_key_bytes(key.der)
    return verify(public, register_message(key.fingerprint, timestamp), signature)


async def start_registration(
    tx: Transactions[RegistryRepository],
    cmd: StartRegistration,
    source: str,
    settings: RegistrySettings,
) -> tuple[Registration, bool]:
    """A pending registration for the key (the existing one if the device asks again);
    True when it was created now."""
    now = datetime.now(UTC)
    ttl = timedelta(seconds=settings.claim_code_ttl_s)
    bucket = f"register:{source}"
    # Every attempt counts, well-formed or not, committed before anything else.
    await _reserve(tx, bucket, settings.registrations_limit, settings.onboarding_window_s)
    key = DeviceKey.parse(cmd.public_key)
    async with tx() as uow:
        return await _pending_for(uow.repo, cmd, key, now, ttl)


async def _pending_for(
    repo: RegistryRepository,
    cmd: StartRegistration,
    key: DeviceKey,
    now: datetime,
    ttl: timedelta,
) -> tuple[Registration, bool]:
    """The key's registration: existing, renewed when expired, or new."""
    existing = await repo.registrations.by_fingerprint(key.fingerprint, for_update=True)
    if existing is not None and existing.status == "claimed":
        raise AlreadyClaimed("this key is already claimed: connect to receive the identity")
    if existing is not None and not existing.expired(now):
        return existing, False
    for _ in range(5):  # a code collision among pending codes is rare; draw again
        fresh = Registration.new(cmd.kind, cmd.model, key, now, ttl)
        try:
            if existing is None:
                await repo.registrations.insert(fresh)
                return fresh, True
            renewed = replace(existing, claim_code=new_claim_code(), expires_at=now + ttl)
            await repo.registrations.save(renewed)
            return renewed, False
        except AlreadyExists:
            # Either the code was taken (draw again) or the same device registered
            # concurrently (then its registration is the answer).
            again = await repo.registrations.by_fingerprint(key.fingerprint)
            if again is not None and again.status == "pending":
                return again, False
    raise RuntimeError("could not draw a free claim code")


async def poll_registration(
    tx: Transactions[RegistryRepository],
    registration_id: uuid.UUID,
    timestamp: int,
    signature: bytes,
    settings: RegistrySettings,
) -> Registration:
    """The registration, for its device only: it signs (id, timestamp) with its key;
    timestamps must increase, so a captured poll cannot be replayed."""
    now = datetime.now(UTC)
    refused = Unauthenticated("sign the poll with the registered key")
    async with tx() as uow:
        r = await uow.repo.registrations.get(registration_id, for_update=True)
        if r is None:
            raise RegistrationNotFound("no such registration")
        if (
            abs(timestamp - now.timestamp()) > settings.poll_clock_skew_s
            or timestamp <= r.last_poll
        ):
            raise refused
        key = load_public_key_bytes(r.key.der)
        if not verify(key, poll_message(r.id, timestamp), signature):
            raise refused
        polled = replace(r, last_poll=timestamp)
        await uow.repo.registrations.save(polled)
    return polled


async def claim_device(
    tx: Transactions[RegistryRepository],
    cmd: ClaimDevice,
    who: Principal,
    settings: RegistrySettings,
) -> Registration:
    """Claim a pending registration by its code for the caller's tenant."""
    tenant_id = target_tenant(who, cmd.tenant_id)
    code = normalize_claim_code(cmd.claim_code)
    bucket = f"claim:{tenant_id}"
    now = datetime.now(UTC)
    # The attempt is counted before the code is looked at, and given back on success.
    limit, window_s = settings.claim_failures_limit, settings.onboarding_window_s
    attempt = await _reserve(tx, bucket, limit, window_s)
    try:
        async with tx() as uow:
            r = await uow.repo.registrations.pending_by_code(code)
            if r is not None and not r.expired(now):
                claimed = await _claim(uow, r, cmd, tenant_id, now)
                await uow.repo.attempts.release(attempt)
                return claimed
    except Exception:
        await _give_back(tx, attempt)  # refused for another reason than the code
        raise
    if r is None:
        raise ClaimCodeNotFound(
            "no device is waiting with this code", [FieldError("claim_code", "unknown code")]
        )
    raise ClaimCodeExpired(
        "the code expired: restart registration on the device",
        [FieldError("claim_code", "expired")],
    )


async def relay_sheet(
    tx: Transactions[RegistryRepository],
    cmd: RelaySheet,
    who: Principal,
    settings: RegistrySettings,
) -> tuple[Registration, bool]:
    """Claim a device from its registration sheet (the device may be offline); True when
    it was claimed now. A device already waiting online is claimed only with its own
    code, or with a sheet its key signed; a wrong code counts against the tenant like a
    wrong claim and is answered like an unknown one. Relaying the same sheet again for
    the same tenant answers the same claim (a phone may send it twice)."""
    sheet = Sheet.parse(cmd.sheet)
    tenant_id = target_tenant(who, cmd.tenant_id)
    now = datetime.now(UTC)
    limit, window_s = settings.claim_failures_limit, settings.onboarding_window_s
    attempt = await _reserve(tx, f"claim:{tenant_id}", limit, window_s)
    wrong_code = False
    try:
        async with tx() as uow:
            r = await uow.repo.registrations.by_fingerprint(sheet.key.fingerprint, for_update=True)
            same_code = r is not None and hmac.compare_digest(r.claim_code, sheet.claim_code)
            if r is not None and r.status == "claimed":
                if same_code and r.tenant_id == tenant_id:
                    await uow.repo.attempts.release(attempt)
                    return r, False
                raise AlreadyClaimed("this device is already claimed")
            if r is not None and not same_code and not sheet.signed:
                wrong_code = True
            else:
                new = r is None
                if r is None:
                    # Stored as claimed at once: the sheet's code never competes with the
                    # codes of devices waiting online (no answer tells them apart).
                    r = Registration(
                        id=uuid.uuid4(), kind=sheet.kind, model=sheet.model, key=sheet.key,
                        claim_code=sheet.claim_code, source="relay", status="pending",
                        created_at=now, expires_at=now,
                    )  # fmt: skip
                else:
                    # Signed by the device: it waits online with another code, and the
                    # sheet's code is what a repeated relay is recognised by.
                    r = replace(r, claim_code=sheet.claim_code)
                claimed = await _claim(uow, r, cmd, tenant_id, now, new=new)
                await uow.repo.attempts.release(attempt)
                return claimed, True
    except Exception:
        await _give_back(tx, attempt)
        raise
    assert wrong_code
    raise ClaimCodeNotFound(
        "no device is waiting with this code", [FieldError("sheet", "unknown code")]
    )


async def redeem_registration(
    tx: Transactions[RegistryRepository],
    key: DeviceKey,
    timestamp: int,
    signature: bytes,
    settings: RegistrySettings,
) -> Registration:
    """A claimed device's registration, for the device only: it signs (fingerprint,
    timestamp) with its key, timestamps increasing. This is how a device claimed from
    its sheet while it could not reach the cloud collects its identity."""
    now = datetime.now(UTC)
    refused = Unauthenticated("sign the request with the device key")
    if abs(timestamp - now.timestamp()) > settings.poll_clock_skew_s:
        raise refused
    if not verify(
        load_public_key_bytes(key.der), redeem_message(key.fingerprint, timestamp), signature
    ):
        raise refused
    async with tx() as uow:
        r = await uow.repo.registrations.by_fingerprint(key.fingerprint, for_update=True)
        if r is None or r.status != "claimed":
            raise RegistrationNotFound("no claimed device has this key")
        if timestamp <= r.last_poll:
            raise refused
        redeemed = replace(r, last_poll=timestamp)
        await uow.repo.registrations.save(redeemed)
    return redeemed


async def _claim(
    uow: UnitOfWork[RegistryRepository],
    r: Registration,
    cmd: ClaimDevice | RelaySheet,
    tenant_id: uuid.UUID,
    now: datetime,
    *,
    new: bool = False,
) -> Registration:
    device_id = uuid.uuid4()
    if r.kind == "printer":
        await add_printer(uow, device_id, tenant_id, cmd.name, r.model, cmd.region, cmd.location)
    else:
        await _add_connector(uow, device_id, tenant_id, r.model, cmd)
    claimed = r.claimed(tenant_id, device_id, now)
    if new:
        await uow.repo.registrations.insert(claimed)
    else:
        await uow.repo.registrations.save(claimed)
    await uow.emit(
        DeviceClaimed(
            device_id=device_id,
            tenant_id=tenant_id,
            subject_type=r.kind,
            public_key=r.key.text(),
            key_algorithm=r.key.algorithm,
            fingerprint=r.key.fingerprint,
            model=r.model,
            claimed_at=now,
        ),
        tenant_id=tenant_id,
    )
    return claimed


async def _add_connector(
    uow: UnitOfWork[RegistryRepository],
    connector_id: uuid.UUID,
    tenant_id: uuid.UUID,
    model: str,
    cmd: ClaimDevice | RelaySheet,
) -> None:
    if await uow.repo.tenants.get(tenant_id) is None:
        raise unknown_tenant()
    try:
        await uow.repo.connectors.insert(
            connector_id, tenant_id, cmd.name, model, cmd.region, cmd.location
        )
    except AlreadyExists:
        raise DuplicateName(
            f"the tenant has a connector named {cmd.name!r}",
            [FieldError("name", "already taken in this tenant")],
        ) from None
    await uow.emit(
        ConnectorRegistered(
            connector_id=connector_id,
            tenant_id=tenant_id,
            name=cmd.name,
            model=model,
            region=cmd.region,
            location=cmd.location,
        ),
        tenant_id=tenant_id,
    )
