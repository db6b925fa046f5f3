"""Kafka: one Strimzi KafkaTopic per declared topic (shared/kafka/topics.py), with
the replication each overlay asks for, and one Strimzi KafkaUser per declared Kafka
user (shared/kafka/acls.py) with exactly the ACLs the local broker gets."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from deploy.manifests.common import (
    KAFKA_CLUSTER,
    PART_OF,
)
from deploy.manifests.config import kafka_user_name
from deploy.manifests.model import topic_table
from shared.kafka.acls import Acl, KafkaUser
from shared.kafka.topics import TopicSpec

# Replication by overlay: what the KafkaTopic resources ask for.
REPLICATION = {"dev": 1, "prod": 3}


def _k8s_name(topic_name: str) -> str:
    return re.sub(r"[^a-z0-9.-]", "-", topic_name.lower()).strip("-.")


def kafka_topics(
    replication: int, topics: Sequence[TopicSpec] | None = None
) -> list[dict[str, Any]]:
    """One Strimzi KafkaTopic per declared topic, with the table's configuration."""
    return [
        {
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaTopic",
            "metadata": {
                "name": _k8s_name(t.name),
                "labels": {
                    "strimzi.io/cluster": KAFKA_CLUSTER,
                    "app.kubernetes.io/part-of": PART_OF,
                },
                "annotations": {"printcloud.io/owner": t.owner, "printcloud.io/key": t.key},
            },
            "spec": {
                "topicName": t.name,
                "partitions": t.partitions,
                "replicas": replication,
                "config": t.config(replication),
            },
        }
        for t in (topic_table() if topics is None else topics)
    ]


def _acl(acl: Acl) -> dict[str, Any]:
    """One ACL rule in Strimzi's terms (``simple`` authorization)."""
    resource: dict[str, Any] = {"type": acl.resource}
    if acl.resource != "cluster":
        resource["name"] = acl.name
        resource["patternType"] = "prefix" if acl.prefixed else "literal"
    return {"resource": resource, "operations": [acl.operation]}


def kafka_users(users: Sequence[KafkaUser]) -> list[dict[str, Any]]:
    """One Strimzi KafkaUser per declared user: SCRAM-SHA-512 credentials (the User
    Operator keeps the password in a Secret of the same name) and the table's ACLs."""
    return [
        {
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaUser",
            "metadata": {
                "name": kafka_user_name(u.name),
                "labels": {
                    "strimzi.io/cluster": KAFKA_CLUSTER,
                    "app.kubernetes.io/part-of": PART_OF,
                },
                "annotations": {"printcloud.io/kafka-user": u.name},
            },
            "spec": {
                "authentication": {"type": "scram-sha-512"},
                "authorization": {"type": "simple", "acls": [_acl(a) for a in u.acls()]},
            },
        }
        for u in users
    ]
