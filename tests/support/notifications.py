"""What the notifications tests share: the service on real Kafka and Postgres with tenant
administrators' tokens, and a webhook receiver running as a process of its own. (No
tests here.)"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from services.notifications.app import SPEC
from services.notifications.settings import NotificationsSettings
from shared.crypto.sealing import new_key_text
from shared.events.contracts.jobs import (
    JobCompleted,
    JobOriginRecorded,
    JobPrinting,
    JobQueued,
    JobSent,
    JobSubmitted,
)
from shared.events.envelope import EventData
from shared.http.auth import CompositeAuthenticator
from shared.infra.kafka import free_port
from shared.printing.settings import JobSettings
from shared.testing.fixtures import ServiceDb
from tests.support.apps import service_client
from tests.support.tokens import FakeIssuer, Signer, trusting
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_TOKEN = "op-" + uuid.uuid4().hex
KEK = new_key_text()


def settings_for(db: ServiceDb, bootstrap: str, **overrides: Any) -> NotificationsSettings:
    """Settings with short delays; http to loopback allowed by the operator's list."""
    values: dict[str, Any] = {
        "database_url": db.dsn, "db_schema": db.name, "kafka_bootstrap": bootstrap,
        "operator_token": OPERATOR_TOKEN, "key_encryption_key": KEK, "outbox_poll_s": 0.2,
        "allow_http": True, "allowed_networks": ["127.0.0.1/32"], "delivery_poll_s": 0.1,
        "retry_base_s": 0.2, "retry_cap_s": 1.0, "auth_leeway_s": 0,
    }  # fmt: skip
    values.update(overrides)
    return NotificationsSettings(**values)


@dataclass
class Notifications:
    """The running service, a tenant, and ways to drive it."""

    client: TestClient
    signer: Signer
    tenant: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def admin(self) -> dict[str, str]:
        token = self.signer.token(tenant_id=str(self.tenant), roles=["admin"],
                                  scope="printers:read printers:write")  # fmt: skip
        return {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        r = await self.client.request(method, path, json=body, headers=self.admin)
        return r.status, (await r.json(content_type=None)) if r.status != 204 else None

    async def subscribe(self, url: str, **fields: Any) -> dict[str, Any]:
        body = {"url": url, "event_types": ["job.*"], **fields}
        status, created = await self.call("POST", "/v1/webhook-endpoints", body)
        assert status == 201, created
        return created  # type: ignore[no-any-return]

    async def log(self, endpoint_id: str, **query: str) -> list[dict[str, Any]]:
        q = "&".join(f"{k}={v}" for k, v in {"limit": "200", **query}.items())
        status, page = await self.call("GET", f"/v1/webhook-endpoints/{endpoint_id}/deliveries?{q}")
        assert status == 200, page
        return page["items"]  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def notifications_app(
    db: ServiceDb, bootstrap: str, **overrides: Any
) -> AsyncIterator[Notifications]:
    """The notifications app (HTTP, consumers, relay, delivery worker) on a real port."""
    signer = Signer()
    issuer = FakeIssuer(signer)

    def authenticator(settings: Any) -> CompositeAuthenticator:
        return trusting(issuer, OPERATOR_TOKEN)

    spec = dataclasses.replace(SPEC, authenticator=authenticator)
    async with service_client(spec, settings_for(db, bootstrap, **overrides)) as client:
        yield Notifications(client, signer)


class Receiver:
    """``tests.support.webhook_receiver`` as a process on a fixed loopback port; it can be
    stopped (SIGKILL) and started again on the same port."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.log = tmp / f"received-{self.port}.jsonl"
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.support.webhook_receiver", str(self.port), str(self.log),
            cwd=ROOT,
        )  # fmt: skip
        await eventually(self._listening, 30, "the receiver listening")

    async def _listening(self) -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        writer.close()
        return True

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    def received(self) -> list[dict[str, Any]]:
        """Every request so far, in arrival order."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


def job_story(tenant: uuid.UUID, *, callback_url: str | None = None,
              token: uuid.UUID | None = None) -> list[EventData]:  # fmt: skip
    """One job's events as queues publishes them: origin (when asked), submitted,
    queued, sent, printing, completed."""
    job, owner, printer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    at = datetime.now(UTC)
    common = {"job_id": job, "tenant_id": tenant, "owner_id": owner, "at": at}
    story: list[EventData] = []
    if callback_url or token:
        story.append(JobOriginRecorded(**common, token_id=token, callback_url=callback_url))
    story += [
        JobSubmitted(
            **common, printer_id=printer, virtual_printer_id=None, release="direct",
            title="Report", document_id=uuid.uuid4(), document_sha256="0" * 64,
            document_size=10, document_format="application/pdf", pages=1, printed_pages=1,
            colour=False, settings=JobSettings(),
        ),
        JobQueued(**common, printer_id=printer, reason="direct"),
        JobSent(**common, printer_id=printer),
        JobPrinting(**common, printer_id=printer),
        JobCompleted(
            **common, printer_id=printer, pages=1, printed_pages=1, colour_pages=0, sheets=1,
            copies=1, sides="one-sided", media=None,
        ),
    ]  # fmt: skip
    return story
