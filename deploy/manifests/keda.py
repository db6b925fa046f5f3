"""KEDA: the prod overlay's ScaledObjects (CPU plus consumer lag) for the services
that consume, and the component that swaps them for the plain autoscalers.

KEDA reads a service's consumer lag as that service's own Kafka user (a
TriggerAuthentication: the user's name from the container's environment, its
password and the cluster CA from the Secrets Strimzi keeps), over TLS with
SCRAM-SHA-512, like the service itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deploy.manifests.common import (
    KAFKA_BOOTSTRAP,
    KAFKA_CA_SECRET,
    object_labels,
    object_meta,
    profile,
)
from deploy.manifests.config import kafka_user_name
from deploy.manifests.model import ServiceInfo
from deploy.manifests.workloads import hpa_behavior, max_replicas


def scaled_objects(services: Sequence[ServiceInfo]) -> list[dict[str, Any]]:
    """KEDA ScaledObjects (CPU plus consumer lag) for services that consume.

    KEDA manages an HPA of its own for each, so the prod overlay deletes the
    plain HPA of those services (the component's patches)."""
    out = []
    for s in services:
        if not s.consumer_groups:
            continue
        p = profile(s.name)
        name = f"printcloud-{s.name}"
        triggers: list[dict[str, Any]] = [
            {
                "type": "cpu",
                "metricType": "Utilization",
                "metadata": {"value": str(p.cpu_target_percent)},
            }
        ]
        for group in s.consumer_groups:
            for topic in group.topics:
                triggers.append(
                    {
                        "type": "kafka",
                        "metadata": {
                            "bootstrapServers": KAFKA_BOOTSTRAP,
                            "consumerGroup": group.name,
                            "topic": topic,
                            "lagThreshold": str(p.lag_threshold),
                            "offsetResetPolicy": "earliest",
                            "allowIdleConsumers": "false",
                            "sasl": "scram_sha512",
                            "tls": "enable",
                        },
                        "authenticationRef": {"name": f"{name}-kafka"},
                    }
                )
        out.append(
            {
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "ScaledObject",
                "metadata": object_meta(name, object_labels(s.name)),
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                    "minReplicaCount": p.min_replicas,
                    "maxReplicaCount": max_replicas(s),
                    "pollingInterval": 30,
                    "cooldownPeriod": 300,
                    "advanced": {
                        "horizontalPodAutoscalerConfig": {
                            "name": f"{name}-keda",
                            "behavior": hpa_behavior(),
                        }
                    },
                    "triggers": triggers,
                },
            }
        )
        out.append(_trigger_authentication(s))
    return out


def _trigger_authentication(s: ServiceInfo) -> dict[str, Any]:
    """How KEDA connects to Kafka for service ``s``'s lag: as the service's own user."""
    name = f"printcloud-{s.name}"
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": object_meta(f"{name}-kafka", object_labels(s.name)),
        "spec": {
            "env": [
                {
                    "parameter": "username",
                    "name": s.env("kafka_username"),
                    "containerName": s.name,
                }
            ],
            "secretTargetRef": [
                {"parameter": "password", "name": kafka_user_name(s.name), "key": "password"},
                {"parameter": "ca", "name": KAFKA_CA_SECRET, "key": "ca.crt"},
            ],
        },
    }


def keda_component(services: Sequence[ServiceInfo]) -> dict[str, Any]:
    """The prod overlay's KEDA component: ScaledObjects and HPA removals."""
    consuming = [s for s in services if s.consumer_groups]
    component: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1alpha1",
        "kind": "Component",
    }
    if consuming:
        component["resources"] = ["scaledobjects.yaml"]
        component["patches"] = [
            {
                "target": {"kind": "HorizontalPodAutoscaler", "name": f"printcloud-{s.name}"},
                "patch": (
                    "$patch: delete\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
                    f"metadata:\n  name: printcloud-{s.name}\n"
                ),
            }
            for s in consuming
        ]
    return component
