"""The queues' repository in memory (:class:`services.queues.repository.QueuesRepository`'s
methods, with its SQL's semantics), for handler unit tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.queues.domain.model import (
    Document,
    Job,
    KeyClaim,
    Printer,
    Session,
    VirtualPrinter,
)
from shared.printing.capabilities import Capabilities
from shared.sharing import TENANT_WIDE, SharedWith, Viewer


@dataclass(frozen=True)
class Change:
    """A row of the job history: the job's state (and printer) after a change."""

    job_id: uuid.UUID
    state: str
    printer_id: uuid.UUID | None
    detail: dict[str, Any]


@dataclass
class FakeQueuesRepository:
    """The queues' state in dicts."""

    jobs: dict[uuid.UUID, Job] = field(default_factory=dict)
    history: list[Change] = field(default_factory=list)
    documents: dict[uuid.UUID, Document] = field(default_factory=dict)
    printers: dict[uuid.UUID, Printer] = field(default_factory=dict)
    virtual_printers: dict[uuid.UUID, VirtualPrinter] = field(default_factory=dict)
    holders: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    """printer id -> the connector bridging it."""
    sessions: dict[uuid.UUID, Session] = field(default_factory=dict)
    keys: dict[tuple[uuid.UUID, uuid.UUID, str], tuple[KeyClaim, datetime]] = field(
        default_factory=dict
    )
    sharing: dict[uuid.UUID, SharedWith] = field(default_factory=dict)
    """printer or virtual printer id -> its sharing (absent: the whole tenant)."""
    viewers: dict[str, Viewer] = field(default_factory=dict)
    """user id -> the user as sharing limits them (absent: not limited)."""

    # --- test set-up ----------------------------------------------------------------

    def add_printer(
        self, tenant_id: uuid.UUID, capabilities: Capabilities | None, revision: int = 1
    ) -> uuid.UUID:
        pid = uuid.uuid4()
        self.printers[pid] = Printer(pid, tenant_id, revision, capabilities)
        return pid

    def add_document(self, tenant_id: uuid.UUID, owner_id: uuid.UUID, pages: int = 2) -> Document:
        doc = Document(
            id=uuid.uuid4(), tenant_id=tenant_id, owner_id=owner_id, sha256="a" * 64, size=100,
            format="application/pdf", pages=pages, title="report", keep=False, priority=0,
            created_at=datetime.now(UTC),
        )  # fmt: skip
        self.documents[doc.id] = doc
        return doc

    # --- documents ------------------------------------------------------------------

    async def get_document(
        self, document_id: uuid.UUID, *, for_update: bool = False
    ) -> Document | None:
        doc = self.documents.get(document_id)
        return doc if doc is not None and doc.deleted_at is None else None

    async def any_document(self, document_id: uuid.UUID) -> Document | None:
        return self.documents.get(document_id)

    # --- jobs -----------------------------------------------------------------------

    async def insert_job(self, job: Job) -> None:
        assert job.id not in self.jobs, "jobs.id is the primary key"
        self.jobs[job.id] = job

    async def save_job(self, job: Job) -> None:
        assert job.id in self.jobs
        self.jobs[job.id] = job

    async def get_job(self, job_id: uuid.UUID, *, for_update: bool = False) -> Job | None:
        return self.jobs.get(job_id)

    async def lock_jobs(self, job_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Job]:
        return {i: self.jobs[i] for i in sorted(job_ids) if i in self.jobs}

    async def held_jobs_due(self, now: datetime, limit: int) -> list[Job]:
        due = [
            j
            for j in self.jobs.values()
            if j.state in ("held", "queued") and j.expires_at is not None and j.expires_at <= now
        ]
        return sorted(due, key=lambda j: j.expires_at or now)[:limit]

    async def held_pull_jobs(
        self, tenant_id: uuid.UUID, owner_id: uuid.UUID, printer_id: uuid.UUID
    ) -> list[uuid.UUID]:
        return [
            j.id
            for j in self.jobs.values()
            if j.tenant_id == tenant_id
            and j.owner_id == owner_id
            and j.state == "held"
            and j.virtual_printer_id in self.virtual_printers
            and printer_id in self.virtual_printers[j.virtual_printer_id].members
        ]

    async def secure_jobs_of(self, printer_id: uuid.UUID, owner_id: uuid.UUID) -> list[uuid.UUID]:
        return [
            j.id
            for j in self.jobs.values()
            if j.printer_id == printer_id
            and j.owner_id == owner_id
            and j.release == "secure"
            and j.state in ("queued", "sent", "printing")
        ]

    async def add_history(self, job: Job, detail: dict[str, Any] | None = None) -> int:
        self.history.append(Change(job.id, job.state, job.printer_id, detail or {}))
        return len(self.history)

    # --- idempotency ----------------------------------------------------------------

    async def claim_idempotency_key(
        self,
        *,
        tenant_id: uuid.UUID,
        owner_id: uuid.UUID,
        key: str,
        fingerprint: str,
        resource: str,
        resource_id: uuid.UUID,
        ttl_s: int,
    ) -> KeyClaim:
        now = datetime.now(UTC)
        held = self.keys.get((tenant_id, owner_id, key))
        if held is None or held[1] <= now - timedelta(seconds=ttl_s):
            claim = KeyClaim(fingerprint, resource, resource_id)
            self.keys[(tenant_id, owner_id, key)] = (claim, now)
            return claim
        return held[0]

    # --- read models ----------------------------------------------------------------

    async def get_printer(self, printer_id: uuid.UUID) -> Printer | None:
        return self.printers.get(printer_id)

    async def printers_capabilities(
        self, printer_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Capabilities | None]:
        return {p: self.printers[p].capabilities for p in printer_ids if p in self.printers}

    async def get_virtual_printer(self, virtual_printer_id: uuid.UUID) -> VirtualPrinter | None:
        return self.virtual_printers.get(virtual_printer_id)

    async def viewer(self, who: Any) -> Viewer | None:
        return self.viewers.get(who.subject)

    async def viewer_of_user(self, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Viewer | None:
        return self.viewers.get(str(user_id))

    async def may_use(self, subject_id: uuid.UUID, viewer: Viewer | None) -> bool:
        return viewer is None or viewer.may_use(self.sharing.get(subject_id, TENANT_WIDE))

    async def holder_of(self, printer_id: uuid.UUID) -> uuid.UUID:
        return self.holders.get(printer_id, printer_id)

    async def open_session(self, **values: Any) -> bool:
        if values["id"] in self.sessions:
            return False
        self.sessions[values["id"]] = Session(**values)
        return True

    async def has_session(self, printer_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> bool:
        return any(
            s.printer_id == printer_id and s.user_id == user_id and s.expires_at > now
            for s in self.sessions.values()
        )
