"""What audit reads: every event of the administrative topics (the topics marked
``audited`` in the topic table), each applied in the inbox transaction."""

from __future__ import annotations

from services.audit.domain.audited import audited_models
from services.audit.handlers import entries
from services.audit.repository import AuditRepository
from services.audit.settings import AuditSettings
from shared.kafka.topics import AUDITED_TOPICS
from shared.service import ConsumerSpec, Runtime


def consumers(rt: Runtime[AuditSettings]) -> list[ConsumerSpec]:
    """One consumer group over the administrative topics."""
    tx = rt.transactions(AuditRepository)
    on_event = tx.applying(entries.record)
    return [
        ConsumerSpec(
            name=f"{rt.schema}-changes",
            topics=list(AUDITED_TOPICS),
            handlers={m.event_type: on_event for m in audited_models()},
        )
    ]
