"""The registry's handlers against an in-memory repository: the rules, the refusals with
their codes, tenant isolation, and what each change announces (nothing, when refused).
No database, no broker."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from services.registry import handlers
from services.registry.domain.commands import (
    AssignConnectorDevices,
    ClaimDevice,
    CreateTenant,
    CreateVirtualPrinter,
    IssueCommand,
    RegisterPrinter,
    RelaySheet,
    StartRegistration,
    UpdatePrinter,
    UpdateVirtualPrinter,
)
from services.registry.domain.events import (
    ConnectorDevicesChanged,
    ConnectorRegistered,
    DeviceClaimed,
    DeviceCommandIssued,
    PrinterCapabilitiesChanged,
    PrinterConnectionChanged,
    PrinterRegistered,
    PrinterUpdated,
    TenantCreated,
    VirtualPrinterCreated,
    VirtualPrinterUpdated,
)
from services.registry.handlers import commands, connectors, devices, onboarding
from services.registry.settings import RegistrySettings
from shared.crypto.encoding import b64url_encode
from shared.crypto.keys import spki_der
from shared.crypto.signatures import sign
from shared.errors import DomainError, PermanentEventError
from shared.events.contracts.commands import DeviceCommandAcked
from shared.events.contracts.gateway import (
    DeviceCapabilitiesReported,
    DeviceConnected,
    DeviceDisconnected,
    DeviceStatusReported,
)
from shared.http.auth import Principal
from shared.printing.capabilities import Capabilities
from shared.protocols.onboarding import (
    DeviceKey,
    Sheet,
    display_claim_code,
    poll_message,
    redeem_message,
)
from shared.testing.uow import InMemoryTransactions
from tests.support.fakes.registry import FakeRegistryRepository

Tx = InMemoryTransactions[FakeRegistryRepository]
OPERATOR = Principal("operator", None, frozenset({"operator"}))
SETTINGS = RegistrySettings(database_url="postgresql://x:y@127.0.0.1:1/db")


class refused:
    """``with refused("code"):`` the block raises a domain error with this code."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        assert isinstance(exc, DomainError), f"expected {self.code}, got {exc!r}"
        assert exc.code == self.code
        return True


def admin(tenant: uuid.UUID) -> Principal:
    return Principal(
        "admin", tenant, frozenset({"admin"}), frozenset({"printers:read", "printers:write"})
    )


@pytest.fixture
def tx() -> Tx:
    return InMemoryTransactions(FakeRegistryRepository())


async def tenant(tx: Tx, name: str = "Acme") -> uuid.UUID:
    return (await handlers.create_tenant(tx, CreateTenant(name=name))).id


async def printer(tx: Tx, tenant_id: uuid.UUID, name: str = "P1") -> Any:
    cmd = RegisterPrinter(name=name, model="M", region="eu-west")
    return await handlers.register_printer(tx, cmd, admin(tenant_id))


# --------------------------------------------------------------------------- tenants, printers


async def test_tenant_names_are_unique_whatever_their_case(tx: Tx) -> None:
    acme = await tenant(tx)
    (created,) = tx.announced()
    assert isinstance(created, TenantCreated) and created.tenant_id == acme
    with refused("duplicate-name"):
        await tenant(tx, "ACME")
    assert len(tx.repo.tenants.rows) == 1 and len(tx.announced()) == 1


async def test_a_printer_joins_its_registrants_tenant(tx: Tx) -> None:
    acme = await tenant(tx)
    p = await printer(tx, acme)
    assert p.tenant_id == acme and p.revision == 1 and p.connection_state == "unknown"
    registered = tx.announced(PrinterRegistered)
    assert [e.printer_id for e in registered] == [p.id]
    assert tx.events[-1].tenant_id == acme


async def test_printer_names_are_unique_within_a_tenant(tx: Tx) -> None:
    acme, other = await tenant(tx), await tenant(tx, "Other")
    await printer(tx, acme)
    with refused("duplicate-name"):
        await printer(tx, acme, "p1")
    await printer(tx, other)  # the same name in another tenant is fine
    assert len(tx.announced(PrinterRegistered)) == 2


async def test_a_printer_goes_only_to_a_tenant_the_caller_may_use(tx: Tx) -> None:
    acme, other = await tenant(tx), await tenant(tx, "Other")
    foreign = RegisterPrinter(tenant_id=other, name="X", model="M", region="eu-west")
    with refused("tenant-not-found"):
        await handlers.register_printer(tx, foreign, admin(acme))
    with refused("validation-failed"):  # operators name the tenant
        await handlers.register_printer(
            tx, RegisterPrinter(name="X", model="M", region="eu-west"), OPERATOR
        )
    with refused("tenant-not-found"):  # a tenant that does not exist
        await handlers.register_printer(
            tx,
            RegisterPrinter(tenant_id=uuid.uuid4(), name="X", model="M", region="eu-west"),
            OPERATOR,
        )
    assert tx.announced(PrinterRegistered) == [] and tx.repo.printers.rows == {}


async def test_an_update_announces_only_real_changes_and_stays_in_its_tenant(tx: Tx) -> None:
    acme, other = await tenant(tx), await tenant(tx, "Other")
    p1, p2 = await printer(tx, acme), await printer(tx, acme, "P2")
    with refused("printer-not-found"):
        await handlers.update_printer(tx, p1.id, UpdatePrinter(name="Mine"), admin(other))
    same = await handlers.update_printer(tx, p1.id, UpdatePrinter(name="P1"), admin(acme))
    assert same == p1 and tx.announced(PrinterUpdated) == []
    with refused("duplicate-name"):
        await handlers.update_printer(tx, p1.id, UpdatePrinter(name="p2"), admin(acme))
    assert tx.repo.printers.rows[p1.id] == p1 and tx.announced(PrinterUpdated) == []
    moved = await handlers.update_printer(tx, p1.id, UpdatePrinter(location="Hall"), admin(acme))
    (updated,) = tx.announced(PrinterUpdated)
    assert moved.revision == 2 and updated.changed == ["location"]
    assert tx.repo.printers.rows[p2.id] == p2


# --------------------------------------------------------------------------- virtual printers


async def test_a_virtual_printer_has_members_of_its_own_tenant_only(tx: Tx) -> None:
    acme, other = await tenant(tx), await tenant(tx, "Other")
    mine, theirs = await printer(tx, acme), await printer(tx, other)
    with refused("validation-failed"):
        await handlers.create_virtual_printer(
            tx, CreateVirtualPrinter(name="Pool", members=[mine.id, theirs.id]), admin(acme)
        )
    assert tx.announced(VirtualPrinterCreated) == []
    vp = await handlers.create_virtual_printer(
        tx, CreateVirtualPrinter(name="Pool", members=[mine.id, mine.id]), admin(acme)
    )
    assert vp.members == (mine.id,)
    with refused("duplicate-name"):
        await handlers.create_virtual_printer(
            tx, CreateVirtualPrinter(name="POOL", members=[]), admin(acme)
        )
    with refused("virtual-printer-not-found"):
        await handlers.update_virtual_printer(
            tx, vp.id, UpdateVirtualPrinter(name="Mine"), admin(other)
        )
    await handlers.update_virtual_printer(tx, vp.id, UpdateVirtualPrinter(name="Pool"), admin(acme))
    assert tx.announced(VirtualPrinterUpdated) == []
    await handlers.update_virtual_printer(tx, vp.id, UpdateVirtualPrinter(members=[]), admin(acme))
    (updated,) = tx.announced(VirtualPrinterUpdated)
    assert updated.changed == ["members"] and updated.members == []


# --------------------------------------------------------------------------- onboarding


def _key() -> tuple[ed25519.Ed25519PrivateKey, str]:
    private = ed25519.Ed25519PrivateKey.generate()
    return private, b64url_encode(spki_der(private.public_key()))


async def _register(tx: Tx, public_key: str, kind: str = "printer") -> Any:
    cmd = StartRegistration(public_key=public_key, kind=kind, model="Model")  # type: ignore[arg-type]
    return await onboarding.start_registration(tx, cmd, "10.0.0.1", SETTINGS)


def _claim(code: str, name: str = "Front desk", tenant_id: uuid.UUID | None = None) -> Any:
    return ClaimDevice(claim_code=code, name=name, region="eu-west", tenant_id=tenant_id)


async def test_a_device_registers_once_and_is_claimed_by_its_code(tx: Tx) -> None:
    acme = await tenant(tx)
    _, public = _key()
    r, created = await _register(tx, public)
    again, created_again = await _register(tx, public)
    assert created and not created_again and again.id == r.id and r.status == "pending"
    claimed = await onboarding.claim_device(
        tx, _claim(display_claim_code(r.claim_code).lower()), admin(acme), SETTINGS
    )
    assert claimed.status == "claimed" and claimed.tenant_id == acme
    registered, device_claimed = tx.announced()[-2:]
    assert isinstance(registered, PrinterRegistered) and registered.printer_id == claimed.device_id
    assert isinstance(device_claimed, DeviceClaimed) and device_claimed.public_key == public
    with refused("device-already-claimed"):
        await _register(tx, public)


async def test_wrong_claim_codes_count_against_the_tenant(tx: Tx) -> None:
    acme = await tenant(tx)
    settings = SETTINGS.model_copy(update={"claim_failures_limit": 2})
    for _ in range(2):
        with refused("claim-code-not-found"):
            await onboarding.claim_device(tx, _claim("AAAA-BBBB"), admin(acme), settings)
    with refused("too-many-requests"):
        await onboarding.claim_device(tx, _claim("AAAA-BBBB"), admin(acme), settings)
    assert tx.announced(DeviceClaimed) == []
    assert await tx.repo.attempts.count(f"claim:{acme}", timedelta(hours=1)) == 2


async def test_an_expired_code_is_refused_and_counted(tx: Tx) -> None:
    acme = await tenant(tx)
    _, public = _key()
    r, _ = await _register(tx, public)
    tx.repo.registrations.rows[r.id] = replace(r, expires_at=datetime.now(UTC))
    with refused("claim-code-expired"):
        await onboarding.claim_device(tx, _claim(r.claim_code), admin(acme), SETTINGS)
    assert tx.announced(DeviceClaimed) == [] and len(tx.repo.attempts.rows) == 2


async def test_a_claim_goes_only_to_the_callers_tenant(tx: Tx) -> None:
    acme, other = await tenant(tx), await tenant(tx, "Other")
    _, public = _key()
    r, _ = await _register(tx, public)
    with refused("tenant-not-found"):
        await onboarding.claim_device(
            tx, _claim(r.claim_code, tenant_id=other), admin(acme), SETTINGS
        )
    assert tx.repo.registrations.rows[r.id].status == "pending"
    assert tx.announced(DeviceClaimed) == []


async def test_a_connector_claimed_under_a_taken_name_is_refused_whole(tx: Tx) -> None:
    acme = await tenant(tx)
    first, _ = await _register(tx, _key()[1], "connector")
    await onboarding.claim_device(tx, _claim(first.claim_code, "Bridge"), admin(acme), SETTINGS)
    assert [type(e) for e in tx.announced()[-2:]] == [ConnectorRegistered, DeviceClaimed]
    second, _ = await _register(tx, _key()[1], "connector")
    announced = len(tx.announced())
    with refused("duplicate-name"):
        await onboarding.claim_device(
            tx, _claim(second.claim_code, "bridge"), admin(acme), SETTINGS
        )
    assert len(tx.announced()) == announced
    assert tx.repo.registrations.rows[second.id].status == "pending"


async def test_a_relayed_sheet_claims_an_offline_device_once(tx: Tx) -> None:
    acme, other = await tenant(tx), await tenant(tx, "Other")
    key = DeviceKey.parse(_key()[1])
    sheet = Sheet("ABCDEFGH", "printer", "Model", key).payload()
    cmd = RelaySheet(sheet=sheet, name="Relayed", region="eu-west")
    claimed, created = await onboarding.relay_sheet(tx, cmd, admin(acme), SETTINGS)
    assert created and claimed.status == "claimed" and claimed.source == "relay"
    assert len(tx.announced(DeviceClaimed)) == 1
    # The same sheet again (a phone sending twice) answers the same device.
    again, created = await onboarding.relay_sheet(
        tx, cmd.model_copy(update={"name": "Again"}), admin(acme), SETTINGS
    )
    assert not created and again.device_id == claimed.device_id
    with refused("device-already-claimed"):
        await onboarding.relay_sheet(tx, cmd, admin(other), SETTINGS)
    with refused("device-already-claimed"):
        other_code = Sheet("KMNPQRST", "printer", "Model", key).payload()
        await onboarding.relay_sheet(
            tx, cmd.model_copy(update={"sheet": other_code}), admin(acme), SETTINGS
        )
    assert len(tx.announced(DeviceClaimed)) == 1


async def test_a_signed_sheet_claims_its_device_even_while_it_waits_online(tx: Tx) -> None:
    acme = await tenant(tx)
    private, public = _key()
    waiting, _ = await _register(tx, public)
    key = DeviceKey.parse(public)
    unsigned = Sheet("ABCDEFGH", "printer", "Model", key)
    assert unsigned.claim_code != waiting.claim_code
    cmd = RelaySheet(sheet=unsigned.payload(), name="Relayed", region="eu-west")
    with refused("claim-code-not-found"):  # the public key alone claims nothing
        await onboarding.relay_sheet(tx, cmd, admin(acme), SETTINGS)
    signed = unsigned.sign_with(private, "https://print.example.com", int(time.time()))
    cmd = cmd.model_copy(update={"sheet": signed.payload()})
    claimed, created = await onboarding.relay_sheet(tx, cmd, admin(acme), SETTINGS)
    assert created and claimed.id == waiting.id and claimed.status == "claimed"
    again, created = await onboarding.relay_sheet(tx, cmd, admin(acme), SETTINGS)
    assert not created and again.device_id == claimed.device_id
    assert len(tx.announced(DeviceClaimed)) == 1


async def test_only_the_device_redeems_its_claimed_registration_and_never_twice_alike(
    tx: Tx,
) -> None:
    acme = await tenant(tx)
    private, public = _key()
    key = DeviceKey.parse(public)
    now = int(time.time())

    def proof(stamp: int, signer: ed25519.Ed25519PrivateKey = private) -> bytes:
        return sign(signer, redeem_message(key.fingerprint, stamp))

    with refused("registration-not-found"):  # nobody relayed its sheet yet
        await onboarding.redeem_registration(tx, key, now, proof(now), SETTINGS)
    sheet = Sheet("ABCDEFGH", "printer", "Model", key).sign_with(private, "https://x.test", now)
    cmd = RelaySheet(sheet=sheet.payload(), name="Relayed", region="eu-west")
    claimed, _ = await onboarding.relay_sheet(tx, cmd, admin(acme), SETTINGS)
    redeemed = await onboarding.redeem_registration(tx, key, now + 1, proof(now + 1), SETTINGS)
    assert redeemed.device_id == claimed.device_id and redeemed.tenant_id == acme
    with refused("unauthenticated"):  # the same request again: a replay
        await onboarding.redeem_registration(tx, key, now + 1, proof(now + 1), SETTINGS)
    with refused("unauthenticated"):  # signed by another key
        await onboarding.redeem_registration(tx, key, now + 2, proof(now + 2, _key()[0]), SETTINGS)
    with refused("unauthenticated"):  # too old
        await onboarding.redeem_registration(tx, key, now - 3600, proof(now - 3600), SETTINGS)


async def test_only_the_device_reads_its_registration_and_never_twice_alike(tx: Tx) -> None:
    private, public = _key()
    r, _ = await _register(tx, public)
    now = int(time.time())
    polled = await onboarding.poll_registration(
        tx, r.id, now, sign(private, poll_message(r.id, now)), SETTINGS
    )
    assert polled.last_poll == now
    with refused("unauthenticated"):  # the same timestamp again: a replay
        await onboarding.poll_registration(
            tx, r.id, now, sign(private, poll_message(r.id, now)), SETTINGS
        )
    other, _ = _key()
    with refused("unauthenticated"):
        await onboarding.poll_registration(
            tx, r.id, now + 1, sign(other, poll_message(r.id, now + 1)), SETTINGS
        )
    with refused("registration-not-found"):
        await onboarding.poll_registration(tx, uuid.uuid4(), now + 2, b"x", SETTINGS)


# --------------------------------------------------------------------------- connectors, commands


async def _connector(tx: Tx, tenant_id: uuid.UUID, name: str = "Bridge") -> uuid.UUID:
    r, _ = await _register(tx, _key()[1], "connector")
    claimed = await onboarding.claim_device(
        tx, _claim(r.claim_code, name), admin(tenant_id), SETTINGS
    )
    assert claimed.device_id is not None
    return claimed.device_id


async def test_a_connector_bridges_printers_of_its_tenant_that_no_other_bridges(tx: Tx) -> None:
    acme, other = await tenant(tx), await tenant(tx, "Other")
    bridge, second = await _connector(tx, acme), await _connector(tx, acme, "Second")
    mine, theirs = await printer(tx, acme), await printer(tx, other)
    assign = AssignConnectorDevices.model_validate
    with refused("validation-failed"):
        await connectors.assign_devices(
            tx, bridge, assign({"devices": [{"printer_id": str(theirs.id), "uri": "ipp://t"}]}),
            admin(acme),
        )  # fmt: skip
    with refused("connector-not-found"):
        await connectors.assign_devices(tx, bridge, assign({"devices": []}), admin(other))
    announced = len(tx.announced())
    connector, devices_ = await connectors.assign_devices(
        tx, bridge, assign({"devices": [{"printer_id": str(mine.id), "uri": "ipp://m"}]}),
        admin(acme),
    )  # fmt: skip
    assert connector.revision == 2 and [d.printer_id for d in devices_] == [mine.id]
    sync, changed = tx.announced()[announced:]
    assert isinstance(sync, DeviceCommandIssued) and sync.name == "sync_devices"
    assert sync.device_id == bridge
    assert isinstance(changed, ConnectorDevicesChanged) and changed.revision == 2
    with refused("conflict"):
        await connectors.assign_devices(
            tx, second, assign({"devices": [{"printer_id": str(mine.id), "uri": "ipp://m"}]}),
            admin(acme),
        )  # fmt: skip
    assert len(tx.announced()) == announced + 2


async def test_commands_reach_the_device_holding_the_socket_until_acknowledged(tx: Tx) -> None:
    acme, other = await tenant(tx), await tenant(tx, "Other")
    bridge, p = await _connector(tx, acme), await printer(tx, acme)
    with refused("device-not-found"):
        await commands.issue_command(tx, p.id, IssueCommand(name="identify"), admin(other))
    direct = await commands.issue_command(tx, p.id, IssueCommand(name="identify"), admin(acme))
    assert [c.command_id for c in await tx.repo.commands.pending(p.id)] == [direct]
    await connectors.assign_devices(
        tx, bridge,
        AssignConnectorDevices.model_validate(
            {"devices": [{"printer_id": str(p.id), "uri": "ipp://p"}]}
        ),
        admin(acme),
    )  # fmt: skip
    via = await commands.issue_command(tx, p.id, IssueCommand(name="identify"), admin(acme))
    issued = tx.announced(DeviceCommandIssued)[-1]
    assert issued.command_id == via and issued.device_id == bridge
    assert issued.target_device_id == p.id
    ack = DeviceCommandAcked(
        command_id=via, device_id=bridge, tenant_id=acme, outcome="done", detail="",
        session_id=uuid.uuid4(), at=datetime.now(UTC),
    )  # fmt: skip
    await commands.apply_ack(tx.repo, ack)
    assert via not in [c.command_id for c in await tx.repo.commands.pending(bridge)]
    with pytest.raises(PermanentEventError):
        await commands.apply_ack(tx.repo, ack.model_copy(update={"device_id": p.id}))


# --------------------------------------------------------------------------- device state


def _caps(**kw: object) -> Capabilities:
    base: dict[str, object] = {
        "document_format_supported": ["application/pdf"],
        "media_supported": ["iso_a4_210x297mm"],
        **kw,
    }
    return Capabilities.model_validate(base)


async def _report(tx: Tx, device: uuid.UUID, tenant_id: uuid.UUID, caps: Capabilities) -> None:
    report = DeviceCapabilitiesReported(
        device_id=device, tenant_id=tenant_id, capabilities=caps, reported_at=datetime.now(UTC)
    )
    async with tx() as uow:
        await devices.capabilities_reported(uow, report)


async def test_a_changed_capabilities_report_becomes_a_new_version(tx: Tx) -> None:
    acme = await tenant(tx)
    p = await printer(tx, acme)
    await _report(tx, p.id, acme, _caps())
    await _report(tx, p.id, acme, _caps())  # the same again: nothing new
    await _report(tx, p.id, acme, _caps(media_supported=["na_letter_8.5x11in"]))
    assert [e.version for e in tx.announced(PrinterCapabilitiesChanged)] == [1, 2]
    assert tx.repo.printers.rows[p.id].capabilities_version == 2
    with pytest.raises(PermanentEventError, match="lack"):
        await _report(tx, p.id, acme, _caps(media_supported=[]))


async def test_a_device_event_of_another_tenant_is_never_applied(tx: Tx) -> None:
    acme, other = await tenant(tx), await tenant(tx, "Other")
    p = await printer(tx, acme)
    with pytest.raises(PermanentEventError, match="no printer"):
        await _report(tx, p.id, other, _caps())
    assert tx.announced(PrinterCapabilitiesChanged) == []
    assert tx.repo.printers.rows[p.id].capabilities_version == 0


async def _presence(tx: Tx, event: DeviceConnected | DeviceDisconnected) -> None:
    async with tx() as uow:
        await devices.presence_changed(uow, event)


async def test_presence_follows_the_newest_session(tx: Tx) -> None:
    acme = await tenant(tx)
    p = await printer(tx, acme)
    old, new, t0 = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    ids = {"device_id": p.id, "tenant_id": acme, "gateway": "g"}
    await _presence(tx, DeviceConnected(session_id=old, at=t0, **ids))
    await _presence(tx, DeviceConnected(session_id=new, at=t0 + timedelta(seconds=1), **ids))
    # The old socket's disconnect arrives late: the printer stays online.
    await _presence(
        tx,
        DeviceDisconnected(session_id=old, at=t0 + timedelta(seconds=2), reason="replaced", **ids),
    )
    assert tx.repo.printers.rows[p.id].connection_state == "online"
    await _presence(
        tx, DeviceDisconnected(session_id=new, at=t0 + timedelta(seconds=3), reason="closed", **ids)
    )
    states = [e.connection_state for e in tx.announced(PrinterConnectionChanged)]
    assert states == ["online", "offline"]


async def test_a_bridged_printer_is_online_while_its_connector_reaches_it(tx: Tx) -> None:
    acme = await tenant(tx)
    bridge, p = await _connector(tx, acme), await printer(tx, acme)
    t0 = datetime.now(UTC)

    async def report(reasons: list[str], seconds: float, via: uuid.UUID | None = bridge) -> None:
        state = "stopped" if reasons else "idle"
        event = DeviceStatusReported(
            device_id=p.id, tenant_id=acme, state=state, reasons=reasons, via_connector=via,
            reported_at=t0 + timedelta(seconds=seconds),
        )  # fmt: skip
        async with tx() as uow:
            await devices.status_reported(uow, event)

    await report(["offline-report"], 1)
    assert tx.repo.printers.rows[p.id].connection_state == "offline"
    await report(["offline-report"], 2)  # no change, no announcement
    await report([], 4)
    await report(["offline-report"], 3)  # older than what is known: ignored
    assert tx.repo.printers.rows[p.id].connection_state == "online"
    await report(["offline-report"], 5, via=None)  # a printer's own status: presence says
    states = [e.connection_state for e in tx.announced(PrinterConnectionChanged)]
    assert states == ["offline", "online"]
    assert tx.repo.printers.rows[p.id].connection_state == "online"
