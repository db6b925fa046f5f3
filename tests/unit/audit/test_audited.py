"""What the audit service reads: every event type of every topic marked ``audited`` is
known to it (a topic marked without its contract module listed would park its events),
and its Kafka user may read exactly those topics."""

from __future__ import annotations

from deploy.catalog import event_models
from services.audit.app import SPEC
from services.audit.domain.audited import audited_models
from shared.kafka.acls import kafka_user
from shared.kafka.topics import AUDITED_TOPICS, TOPICS


def test_every_event_of_an_administrative_topic_is_known_to_the_audit_service() -> None:
    known = set(SPEC.registry.models())
    missing = [m.event_type for m in event_models() if m.topic in AUDITED_TOPICS and m not in known]
    assert not missing, f"list their contract module in services/audit/domain/audited.py: {missing}"
    assert {m.topic for m in audited_models()} == set(AUDITED_TOPICS)


def test_the_administrative_topics_are_the_changes_people_make() -> None:
    assert set(AUDITED_TOPICS) >= {
        "registry.printers", "registry.virtual-printers", "registry.devices", "auth.users",
        "auth.tokens", "auth.device-credentials", "counters.quotas",
    }  # fmt: skip
    assert not {t.name for t in TOPICS if t.audited} & {"queues.jobs", "devices.telemetry"}


def test_the_audit_user_reads_the_administrative_topics_and_writes_only_dead_letters() -> None:
    user = kafka_user("audit")
    assert set(user.reads) == set(AUDITED_TOPICS)
    assert user.writes == ("printcloud.dead-letter",)
