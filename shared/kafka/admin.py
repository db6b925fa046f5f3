"""Create the declared topics and ACLs; idempotent, and loud about drift."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import IncompatibleBrokerVersion
from aiokafka.protocol.admin import CreateAclsRequest

from shared.kafka.access import KafkaAccess
from shared.kafka.acls import Acl, KafkaUser
from shared.kafka.topics import TopicSpec


async def _wait_visible(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    """Metadata propagates asynchronously: wait until created topics are listed."""
    for _ in range(100):
        if set(names) <= set(await admin.list_topics()):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"created topics not visible after 10 s: {names}")


@dataclass
class TopicsReport:
    """What ``ensure_topics`` found and did."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)


async def ensure_topics(
    kafka: KafkaAccess,
    specs: Sequence[TopicSpec],
    *,
    replication_factor: int = 1,
    partitions_override: int | None = None,
) -> TopicsReport:
    """Create missing topics; report (never silently change) partition drift."""
    report = TopicsReport()
    admin = AIOKafkaAdminClient(**kafka.client_options(), client_id="printcloud-topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(
                        name=s.name,
                        num_partitions=partitions_override or s.partitions,
                        replication_factor=replication_factor,
                        topic_configs=s.config(replication_factor),
                    )
                    for s in missing
                ]
            )
            errors = [
                f"{name}: error {code} {message or ''}".strip()
                for name, code, message in response.topic_errors
                if code not in (0, 36)  # 36: TOPIC_ALREADY_EXISTS (a concurrent creator)
            ]
            if errors:
                raise RuntimeError(f"broker refused to create topics: {errors}")
            report.created = [s.name for s in missing]
        present = [s for s in specs if s.name in existing]
        report.existing = [s.name for s in present]
        if present:
            for meta in await admin.describe_topics([s.name for s in present]):
                spec = next(s for s in present if s.name == meta["topic"])
                want = partitions_override or spec.partitions
                have = len(meta["partitions"])
                if have != want:
                    report.drift.append(f"{spec.name}: {have} partitions, declared {want}")
        await _wait_visible(admin, [s.name for s in missing])
        return report
    finally:
        await admin.close()


async def partitions_of(kafka: KafkaAccess, topic: str) -> list[int]:
    """The partition numbers of ``topic``; RuntimeError naming the fix if it is missing."""
    admin = AIOKafkaAdminClient(**kafka.client_options(), client_id="printcloud-metadata")
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    parts = [p["partition"] for d in described if d["topic"] == topic for p in d["partitions"]]
    if not parts:
        raise RuntimeError(f"topic {topic} does not exist (run `printcloud topics create`)")
    return sorted(parts)


async def topic_partitions(kafka: KafkaAccess, topic: str) -> list[TopicPartition]:
    """Every partition of ``topic``, to assign to a consumer that reads them all (no group)."""
    return [TopicPartition(topic, p) for p in await partitions_of(kafka, topic)]


# Kafka's wire codes (org.apache.kafka.common.resource / acl).
_RESOURCE_TYPES = {"topic": 2, "group": 3, "cluster": 4}
_PATTERN_LITERAL, _PATTERN_PREFIXED = 3, 4
_OPERATIONS = {
    "All": 2, "Read": 3, "Write": 4, "Create": 5, "Delete": 6, "Alter": 7, "Describe": 8,
    "DescribeConfigs": 10,
}  # fmt: skip
_ALLOW = 3


class _CreateAcls(CreateAclsRequest):  # type: ignore[misc]  # aiokafka is untyped here
    """Many ACLs in one CreateAcls request (aiokafka's own request carries one)."""

    def __init__(self, creations: list[tuple[int, str, int, str, str, int, int]]) -> None:
        self._creations = creations

    def build(self, request_struct_class: Any) -> Any:
        if request_struct_class.API_VERSION < 1:  # v0 has no pattern type (prefixes)
            raise IncompatibleBrokerVersion("CreateAcls v1 or newer is needed")
        return request_struct_class(self._creations)


def _creation(user: str, acl: Acl) -> tuple[int, str, int, str, str, int, int]:
    return (
        _RESOURCE_TYPES[acl.resource],
        acl.name,
        _PATTERN_PREFIXED if acl.prefixed else _PATTERN_LITERAL,
        f"User:{user}",
        "*",
        _OPERATIONS[acl.operation],
        _ALLOW,
    )


async def ensure_acls(kafka: KafkaAccess, users: Sequence[KafkaUser]) -> int:
    """Allow each user what the table says, in one request (creating an existing ACL is
    a no-op); the number of ACLs sent. ``kafka`` must be the super user."""
    creations = [_creation(u.name, acl) for u in users for acl in u.acls()]
    admin = AIOKafkaAdminClient(**kafka.client_options(), client_id="printcloud-acls")
    await admin.start()
    try:
        response = await admin._send_request(_CreateAcls(creations))
    finally:
        await admin.close()
    errors = [
        f"{error_code} {message or ''}".strip()
        for error_code, message in response.creation_responses
        if error_code != 0
    ]
    if errors:
        raise RuntimeError(f"broker refused to create ACLs: {errors}")
    return len(creations)
