"""Which printers each connector is responsible for, cached from the registry's
``registry.devices`` topic (``connector.devices_changed``).

Like the credential cache, every replica reads the whole topic from the start and
follows it, so a connector's report about a printer is checked on any replica without
a call to the registry: a connector reports only for the printers it bridges, in its
own tenant.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from shared.events.contracts.devices import EVENTS, ConnectorDevicesChanged
from shared.events.registry import EventDecodeError, EventRegistry
from shared.kafka.access import KafkaAccess
from shared.kafka.replay import replay_and_follow
from shared.logging import get_logger

log = get_logger(__name__)
TOPIC = ConnectorDevicesChanged.topic
REGISTRY = EventRegistry(list(EVENTS))


@dataclass(frozen=True)
class Bridged:
    """A connector's tenant and the printers it bridges, at a registry revision."""

    tenant_id: uuid.UUID
    revision: int
    printers: frozenset[uuid.UUID]


class BridgedDevices:
    """connector id -> the printers it bridges, kept current from the topic."""

    def __init__(self, kafka: KafkaAccess) -> None:
        self._kafka = kafka
        self._by_connector: dict[uuid.UUID, Bridged] = {}
        self.ready = asyncio.Event()

    def bridges(self, connector_id: uuid.UUID, tenant_id: uuid.UUID, printer_id: uuid.UUID) -> bool:
        """Whether the connector, in ``tenant_id``, is responsible for ``printer_id``."""
        bridged = self._by_connector.get(connector_id)
        return (
            bridged is not None
            and bridged.tenant_id == tenant_id
            and (printer_id in bridged.printers)
        )

    def apply(self, change: ConnectorDevicesChanged) -> None:
        """Take a connector's whole list of printers (an older revision changes nothing)."""
        current = self._by_connector.get(change.connector_id)
        if current is not None and current.revision >= change.revision:
            return
        printers: set[uuid.UUID] = set()
        for d in change.devices:
            try:
                printers.add(uuid.UUID(d["printer_id"]))
            except (KeyError, ValueError):
                log.warning(
                    "bridged device without a printer id", connector=str(change.connector_id)
                )
        self._by_connector[change.connector_id] = Bridged(
            change.tenant_id, change.revision, frozenset(printers)
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Read the topic from the beginning, then follow it until ``stop``."""
        await replay_and_follow(
            self._kafka,
            TOPIC,
            self._decode,
            self.ready,
            stop,
            what="bridged devices",
            poll_ms=500,
        )

    def _decode(self, raw: bytes | None) -> None:
        try:
            data = REGISTRY.decode(raw).data
        except EventDecodeError as exc:
            log.warning("unreadable device event skipped", reason=exc.reason)
            return
        if isinstance(data, ConnectorDevicesChanged):
            self.apply(data)
