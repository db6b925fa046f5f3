"""Kafka: one Strimzi KafkaTopic per declared topic (shared/kafka/topics.py), with
the replication each overlay asks for."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from deploy.manifests.common import (
    KAFKA_CLUSTER,
    PART_OF,
)
from deploy.manifests.model import topic_table
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
