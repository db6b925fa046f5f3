"""In-memory stand-ins for the IPP endpoint's repository and the public API it calls."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from services.ipp.domain.model import IppJob, Target
from services.ipp.upstream import ApiError
from shared.printing.capabilities import Capabilities


class FakeIppRepository:
    """The ``ipp_jobs`` table in a dict."""

    def __init__(self) -> None:
        self.jobs: dict[int, IppJob] = {}

    async def add(
        self,
        target_id: uuid.UUID,
        owner_id: str,
        tenant_id: uuid.UUID | None,
        name: str,
        settings: dict[str, object],
        job_uuid: uuid.UUID | None,
        *,
        hold_until: str | None = None,
        document_id: uuid.UUID | None = None,
    ) -> IppJob:
        state = "submitted" if job_uuid else "held" if document_id else "awaiting-document"
        job = IppJob(
            len(self.jobs) + 1,
            target_id,
            owner_id,
            tenant_id,
            name,
            dict(settings),
            job_uuid,
            state,  # type: ignore[arg-type]
            datetime.now(UTC),
            hold_until,
            document_id,
        )
        self.jobs[job.id] = job
        return job

    async def get(self, job_id: int, *, lock: bool = False) -> IppJob | None:
        return self.jobs.get(job_id)

    async def save(self, job: IppJob) -> None:
        self.jobs[job.id] = replace(
            self.jobs[job.id], job_uuid=job.job_uuid, state=job.state,
            hold_until=job.hold_until, document_id=job.document_id,
        )  # fmt: skip

    async def list_for(self, target_id: uuid.UUID, owner_id: str, limit: int) -> list[IppJob]:
        found = [
            j for j in self.jobs.values() if j.target_id == target_id and j.owner_id == owner_id
        ]
        return sorted(found, key=lambda j: -j.id)[:limit]


class FakeApi:
    """The public API: documents kept whole, jobs in a dict, refusals on demand."""

    def __init__(self, target: Target, caps: Capabilities) -> None:
        self.the_target = (target, caps)
        self.documents: dict[str, tuple[str, bytes]] = {}
        self.jobs: dict[uuid.UUID, dict[str, Any]] = {}
        self.refuse_submit: ApiError | None = None
        self.refuse_upload: ApiError | None = None
        self.refuse_identify: ApiError | None = None
        self.identified: list[uuid.UUID] = []

    async def target(self, target_id: uuid.UUID) -> tuple[Target, Capabilities]:
        if target_id != self.the_target[0].id:
            raise ApiError(404, {"detail": "no such printer"})
        return self.the_target

    async def upload(
        self, chunks: AsyncIterator[bytes], document_format: str, title: str
    ) -> dict[str, Any]:
        data = b"".join([c async for c in chunks])
        if self.refuse_upload is not None:
            raise self.refuse_upload
        document_id = str(uuid.uuid4())
        self.documents[document_id] = (document_format, data)
        return {"document_id": document_id}

    async def submit(
        self, document_id: str, target: Target, settings: dict[str, Any], title: str
    ) -> dict[str, Any]:
        if self.refuse_submit is not None:
            raise self.refuse_submit
        job = {
            "id": str(uuid.uuid4()),
            "state": "queued",
            "document_id": document_id,
            "settings": settings,
            "title": title,
            "printed_pages": None,
            "queued_at": datetime.now(UTC).isoformat(),
            "finished_at": None,
        }
        self.jobs[uuid.UUID(job["id"])] = job
        return job

    async def job(self, job_id: uuid.UUID) -> dict[str, Any]:
        return self.jobs[job_id]

    async def cancel(self, job_id: uuid.UUID) -> dict[str, Any]:
        self.jobs[job_id]["state"] = "canceled"
        return self.jobs[job_id]

    async def identify(self, printer_id: uuid.UUID) -> None:
        if self.refuse_identify is not None:
            raise self.refuse_identify
        self.identified.append(printer_id)
