"""How an event of another service becomes a notice tenants hear (pure)."""

from __future__ import annotations

import uuid
from typing import Any

from services.notifications.domain.model import JobFacts, Notice
from shared.events.contracts.devices import DeviceClaimed
from shared.events.contracts.jobs import JobMoved, JobOriginRecorded, JobQueued, JobSubmitted
from shared.events.contracts.quotas import QuotaStateChanged
from shared.events.contracts.registry import PrinterConnectionChanged
from shared.events.contracts.supplies import SupplyLevelWarning
from shared.events.envelope import Envelope, EventData

_INTERNAL_JOB_FIELDS = frozenset({"reservation_id"})


def _data(model: EventData, without: frozenset[str] = frozenset()) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json", exclude=set(without))
    return data


def job_notice(envelope: Envelope, data: Any, facts: JobFacts | None) -> Notice:
    """A job's change of state; printer, user and token come from what the job's
    submission said (later events do not all repeat them)."""
    printer = getattr(data, "printer_id", None) or getattr(data, "to_printer_id", None)
    return Notice(
        event_id=envelope.event_id,
        type=envelope.type,
        tenant_id=data.tenant_id,
        occurred_at=data.at,
        order_key=f"job:{data.job_id}",
        data=_data(data, _INTERNAL_JOB_FIELDS),
        printer_id=printer or (facts.printer_id if facts else None),
        user_id=data.owner_id,
        token_id=facts.token_id if facts else None,
        job_id=data.job_id,
    )


def job_facts(data: Any, before: JobFacts | None) -> JobFacts | None:
    """What to remember of a job after ``data`` (None: nothing changes)."""
    if isinstance(data, JobOriginRecorded):
        return JobFacts(
            job_id=data.job_id, tenant_id=data.tenant_id, owner_id=data.owner_id,
            token_id=data.token_id, printer_id=None, callback_url=data.callback_url,
        )  # fmt: skip
    if isinstance(data, JobSubmitted):
        return JobFacts(
            job_id=data.job_id, tenant_id=data.tenant_id, owner_id=data.owner_id,
            token_id=before.token_id if before else None, printer_id=data.printer_id,
            callback_url=before.callback_url if before else None,
        )  # fmt: skip
    if before is not None and isinstance(data, JobQueued | JobMoved):
        printer = data.printer_id if isinstance(data, JobQueued) else data.to_printer_id
        return JobFacts(
            job_id=before.job_id, tenant_id=before.tenant_id, owner_id=before.owner_id,
            token_id=before.token_id, printer_id=printer, callback_url=before.callback_url,
        )  # fmt: skip
    return None


def printer_notice(envelope: Envelope, data: PrinterConnectionChanged) -> Notice:
    """A printer went online or offline."""
    return Notice(
        event_id=envelope.event_id, type=envelope.type, tenant_id=data.tenant_id,
        occurred_at=data.at, order_key=f"printer:{data.printer_id}", data=_data(data),
        printer_id=data.printer_id,
    )  # fmt: skip


def supply_notice(envelope: Envelope, data: SupplyLevelWarning) -> Notice:
    """A supply is low or empty."""
    return Notice(
        event_id=envelope.event_id, type=envelope.type, tenant_id=data.tenant_id,
        occurred_at=data.at, order_key=f"printer:{data.printer_id}", data=_data(data),
        printer_id=data.printer_id,
    )  # fmt: skip


def quota_notice(envelope: Envelope, data: QuotaStateChanged, was_exceeded: bool) -> Notice | None:
    """``quota.exceeded`` when a quota's usage first reaches its limit in a period."""
    if data.deleted or not data.exceeded or was_exceeded:
        return None
    user: uuid.UUID | None = data.subject_id if data.subject_kind == "user" else None
    return Notice(
        event_id=envelope.event_id, type="quota.exceeded", tenant_id=data.tenant_id,
        occurred_at=envelope.occurred_at, order_key=f"quota:{data.quota_id}",
        data=_data(data, frozenset({"deleted"})), user_id=user,
    )  # fmt: skip


def claimed_notice(envelope: Envelope, data: DeviceClaimed) -> Notice:
    """A printer or connector was claimed for the tenant (onboarding done)."""
    printer = data.device_id if data.subject_type == "printer" else None
    body = _data(data, frozenset({"public_key"}))
    return Notice(
        event_id=envelope.event_id, type=envelope.type, tenant_id=data.tenant_id,
        occurred_at=data.claimed_at, order_key=f"device:{data.device_id}", data=body,
        printer_id=printer,
    )  # fmt: skip
