"""One gateway replica: its live sessions, its credential cache, its producer; device
frames become events, and newly issued commands and notifications reach the devices
connected here."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from aiokafka import AIOKafkaConsumer

from services.gateway.bridged import BridgedDevices
from services.gateway.connection import FrameRefused
from services.gateway.credentials import CredentialCache
from services.gateway.settings import GatewaySettings
from services.gateway.ws import NOTIFICATIONS_SENT, Session, Sessions
from shared.events.contracts.commands import DeviceCommandAcked, DeviceCommandIssued
from shared.events.contracts.gateway import (
    DeviceCapabilitiesReported,
    DeviceConnected,
    DeviceCountersReported,
    DeviceDisconnected,
    DeviceJobStatusReported,
    DeviceStatusReported,
    DeviceSuppliesReported,
)
from shared.events.contracts.notifications import DeviceNotified
from shared.events.envelope import EventData, new_envelope
from shared.events.registry import EventDecodeError, EventRegistry
from shared.kafka.admin import topic_partitions
from shared.kafka.producer import create_producer, start_when_available
from shared.logging import get_logger
from shared.protocols.device import (
    CapabilitiesReport,
    Command,
    CommandAck,
    CountersReport,
    Heartbeat,
    JobStatus,
    Notify,
    StatusReport,
    SuppliesReport,
    _Frame,
)
from shared.supervisor import Supervisor

log = get_logger(__name__)
FEED = EventRegistry([DeviceCommandIssued, DeviceNotified])
FEED_TOPICS = (DeviceCommandIssued.topic, DeviceNotified.topic)
REVOKED_CLOSE = 4001  # the websocket close code of a revoked or replaced credential


class Gateway:
    """The state of one replica: caches, live sessions, the producer."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.credentials = CredentialCache(settings.kafka(), self.credential_changed)
        self.bridged = BridgedDevices(settings.kafka())
        self.sessions = Sessions()
        self.producer = create_producer(settings.kafka(), f"gateway-{settings.instance}")
        self.stop = asyncio.Event()
        self.supervisor = Supervisor(self.stop)
        self.accepting = False
        self.feed_ready = asyncio.Event()
        self.http: aiohttp.ClientSession | None = None
        self._closing: set[asyncio.Future[bool]] = set()

    async def publish(self, data: EventData, tenant_id: uuid.UUID) -> None:
        """Publish straight to Kafka (acks=all); the gateway has no database to outbox from."""
        env = new_envelope(data, source="gateway", tenant_id=tenant_id)
        await self.producer.send_and_wait(
            data.topic, env.to_bytes(), key=env.key.encode(), headers=env.kafka_headers()
        )

    # ------------------------------------------------------------ lifetime

    async def lifetime(self, _: web.Application) -> AsyncIterator[None]:
        """The replica's lifetime (an app cleanup context): the registry client, the
        producer, the credential cache and the feed; on the way out, sessions closed and
        background work joined."""
        settings = self.settings
        # The gateway calls the registry as itself, never with an operator's token.
        token = settings.service_token
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}
        self.http = aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=10))
        await start_when_available(self.producer)
        self.supervisor.start("credentials", self.credentials.run)
        self.supervisor.start("bridged", self.bridged.run)
        self.supervisor.start("feed", self.follow_feed)
        self.accepting = True
        try:
            yield
        finally:
            self.accepting = False
            await self.sessions.close_all()
            self.stop.set()
            await self.supervisor.join(timeout=10)
            await self.producer.stop()
            await self.http.close()

    # ------------------------------------------------------------ session hooks

    def credential_changed(self, device_id: uuid.UUID) -> None:
        """A device's credential was revoked or replaced: its open socket, if any, no
        longer proves anything and is closed now (4001), not at its next reconnect."""
        session = self.sessions.get(device_id)
        if session is None or session.ws.closed:
            return
        current = self.credentials.lookup(session.credential.fingerprint)
        if current is not None and current.device_id == device_id:
            return  # the same key still authenticates it
        log.info("credential revoked; closing the device's socket", device_id=str(device_id))
        task = asyncio.ensure_future(
            session.ws.close(code=REVOKED_CLOSE, message=b"credential revoked")
        )
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def opened(self, session: Session) -> None:
        """Register the session, announce it, deliver what the device has not acked."""
        replaced = self.sessions.add(session)
        if replaced is not None:
            replaced.close_reason = "replaced"
            await replaced.ws.close(code=4000, message=b"replaced by a newer connection")
        cred = session.credential
        await self.publish(
            DeviceConnected(
                device_id=cred.device_id,
                tenant_id=cred.tenant_id,
                session_id=session.session_id,
                gateway=self.settings.instance,
                at=datetime.now(UTC),
            ),
            cred.tenant_id,
        )
        for command in await self.pending_commands(cred.device_id):
            session.deliver(command)

    async def closed(self, session: Session) -> None:
        """Forget the session and announce it (unless a newer one replaced it here)."""
        self.sessions.remove(session)
        cred = session.credential
        reason: Any = session.close_reason
        with contextlib.suppress(Exception):
            await self.publish(
                DeviceDisconnected(
                    device_id=cred.device_id,
                    tenant_id=cred.tenant_id,
                    session_id=session.session_id,
                    gateway=self.settings.instance,
                    at=datetime.now(UTC),
                    reason=reason,
                ),
                cred.tenant_id,
            )

    async def frame(self, session: Session, frame: _Frame) -> None:
        """Turn a device frame into the event that announces it."""
        cred, now = session.credential, datetime.now(UTC)
        ids = {"tenant_id": cred.tenant_id}
        if isinstance(frame, Heartbeat):
            return
        if isinstance(frame, CommandAck):
            await self.publish(
                DeviceCommandAcked(
                    command_id=frame.command_id,
                    device_id=cred.device_id,
                    outcome=frame.outcome,
                    detail=frame.detail,
                    session_id=session.session_id,
                    at=now,
                    **ids,
                ),
                cred.tenant_id,
            )
            return
        device_id, via = self._subject(session, getattr(frame, "device_id", None))
        if isinstance(frame, CapabilitiesReport):
            event: EventData = DeviceCapabilitiesReported(
                device_id=device_id, capabilities=frame.capabilities, reported_at=now,
                via_connector=via, **ids,
            )  # fmt: skip
        elif isinstance(frame, StatusReport):
            event = DeviceStatusReported(
                device_id=device_id, state=frame.state, reasons=frame.reasons,
                message=frame.message, reported_at=now, via_connector=via, **ids,
            )  # fmt: skip
        elif isinstance(frame, JobStatus):
            event = DeviceJobStatusReported(
                device_id=device_id, job_id=frame.job_id, state=frame.state, detail=frame.detail,
                reported_at=now, via_connector=via, **ids,
            )  # fmt: skip
        elif isinstance(frame, CountersReport):
            event = DeviceCountersReported(
                device_id=device_id, reading_id=frame.reading_id, counters=frame.counters,
                activity_before=frame.activity_before, activity_after=frame.activity_after,
                attempts=frame.attempts, source=frame.source, reported_at=now,
                via_connector=via, **ids,
            )  # fmt: skip
        elif isinstance(frame, SuppliesReport):
            event = DeviceSuppliesReported(
                device_id=device_id, supplies=frame.supplies, source=frame.source,
                reported_at=now, via_connector=via, **ids,
            )  # fmt: skip
        else:
            raise FrameRefused("unexpected-frame", "this frame is not sent by devices")
        await self.publish(event, cred.tenant_id)

    def _subject(
        self, session: Session, named: uuid.UUID | None
    ) -> tuple[uuid.UUID, uuid.UUID | None]:
        """Which device a report is about: a printer reports only about itself, a
        connector only about the printers it bridges in its own tenant."""
        cred = session.credential
        if named is None or named == cred.device_id:
            return cred.device_id, None
        if cred.kind != "connector":
            raise FrameRefused("not-your-device", "a printer reports only about itself")
        if not self.bridged.bridges(cred.device_id, cred.tenant_id, named):
            raise FrameRefused("not-your-device", "this connector does not bridge that printer")
        return named, cred.device_id

    # ------------------------------------------------------------ commands

    async def pending_commands(self, device_id: uuid.UUID) -> list[Command]:
        """What the registry's ledger holds for the device, oldest first."""
        assert self.http is not None
        url = f"{self.settings.registry_url.rstrip('/')}/v1/devices/{device_id}/commands"
        async with self.http.get(url) as resp:
            resp.raise_for_status()
            body = await resp.json()
        return [_command(item) for item in body["items"]]

    async def follow_feed(self, stop: asyncio.Event) -> None:
        """Deliver newly issued commands and notifications to devices connected here.

        Every replica reads every partition of both topics from their end (no
        consumer group): a device is connected to one replica, which finds it in
        its sessions; the others skip the record.
        """
        consumer = AIOKafkaConsumer(
            **self.settings.kafka().client_options(), enable_auto_commit=False
        )
        await consumer.start()
        try:
            tps = [
                tp
                for topic in FEED_TOPICS
                for tp in await topic_partitions(self.settings.kafka(), topic)
            ]
            consumer.assign(tps)
            await consumer.seek_to_end(*tps)
            for tp in tps:  # resolve the end now, so nothing issued after readiness is missed
                await consumer.position(tp)
            self.feed_ready.set()
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for rec in records:
                        self._deliver(rec.value)
        finally:
            self.feed_ready.clear()
            await consumer.stop()

    def _deliver(self, raw: bytes | None) -> None:
        try:
            data: Any = FEED.decode(raw).data
        except EventDecodeError as exc:
            log.warning("unreadable record skipped", reason=exc.reason)
            return
        session = self.sessions.get(data.device_id)
        if session is None:
            return
        if isinstance(data, DeviceNotified):
            if data.tenant_id != session.credential.tenant_id:
                log.warning("notification of another tenant", device_id=str(data.device_id))
                return
            if session.send(_notify(data)):
                NOTIFICATIONS_SENT.labels(data.kind).inc()
        else:
            session.deliver(_command(data.model_dump(mode="json")))


def _command(item: dict[str, Any]) -> Command:
    return Command(
        command_id=item["command_id"], name=item["name"], payload=item["payload"],
        target_device_id=item.get("target_device_id"), issued_at=item["issued_at"],
    )  # fmt: skip


def _notify(event: DeviceNotified) -> Notify:
    return Notify(
        kind=event.kind, job_ids=event.job_ids, target_device_id=event.target_device_id,
        detail=event.detail,
    )  # fmt: skip
