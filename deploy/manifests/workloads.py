"""Workloads: each service's ServiceAccount, Deployment (probes, resources,
hardening, the migrations gate), Service, PodDisruptionBudget and
HorizontalPodAutoscaler, and each worker process's Deployment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deploy.manifests.common import (
    CONTAINER_SECURITY,
    MIGRATION_WAIT_S,
    POD_SECURITY,
    WORKER_PROFILE,
    Profile,
    config_ref,
    container_resources,
    image_ref,
    object_labels,
    object_meta,
    pod_selector,
    profile,
    termination_grace_seconds,
    tmp_volume,
)
from deploy.manifests.config import (
    SHARED_VOLUMES,
    WORKER_DATA_PATH,
    kafka_ca_volume,
    kafka_env,
    service_env,
    shared_claim,
    shared_volume,
)
from deploy.manifests.database import database_env
from deploy.manifests.model import ServiceInfo, WorkerInfo, topic_table
from deploy.manifests.network import network_policy, worker_network_policy


def deployment(svc: ServiceInfo, services: Sequence[ServiceInfo] = ()) -> dict[str, Any]:
    """The service's Deployment: probes, resources, hardening, migrations gate."""
    name = f"printcloud-{svc.name}"
    p = profile(svc.name)
    volume, mount = tmp_volume()
    kafka_ca, kafka_ca_mount = kafka_ca_volume()
    volumes, mounts = [volume, kafka_ca], [mount, kafka_ca_mount]
    shared = shared_volume(svc.name)
    if shared is not None:
        volumes.append(
            {"name": "shared", "persistentVolumeClaim": {"claimName": shared_claim(svc.name)}}
        )
        mounts.append({"name": "shared", "mountPath": shared.mount_path})
    env = service_env(svc, services)
    env_from = [{"configMapRef": {"name": name}}]
    wait_for_migrations = {
        "name": "wait-for-migrations",
        "image": image_ref(),
        "imagePullPolicy": "Always",
        "args": ["migrate-check", svc.name, "--wait", str(MIGRATION_WAIT_S)],
        "env": database_env(svc),
        "envFrom": env_from,
        "resources": container_resources(p),
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": [mount],
    }
    container = {
        "name": svc.name,
        "image": image_ref(),
        "imagePullPolicy": "Always",
        "args": ["run", svc.name],
        "ports": [{"name": "http", "containerPort": svc.http_port, "protocol": "TCP"}],
        "env": env,
        "envFrom": env_from,
        "startupProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "periodSeconds": 2,
            "timeoutSeconds": 2,
            "failureThreshold": 60,
        },
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": "http"},
            "periodSeconds": 5,
            "timeoutSeconds": 5,
            "failureThreshold": 2,
        },
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "http"},
            "periodSeconds": 10,
            "timeoutSeconds": 3,
            "failureThreshold": 3,
        },
        "resources": container_resources(p),
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": mounts,
    }
    return _deployment(
        name, object_labels(svc.name), svc.name, svc.has_database, [container], volumes,
        init_containers=[wait_for_migrations] if svc.has_database else [],
    )  # fmt: skip


def _deployment(
    name: str,
    labels: dict[str, str],
    selected: str,
    database_client: bool,
    containers: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    *,
    replicas: int | None = None,
    init_containers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The Deployment every service and worker shares: rolling updates that never drop
    below the wanted replicas, pods spread over nodes, no API token, hardened pods."""
    spec: dict[str, Any] = {
        "serviceAccountName": name,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": termination_grace_seconds(),
        "securityContext": POD_SECURITY,
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": pod_selector(selected)},
            }
        ],
    }
    if init_containers is not None:
        spec["initContainers"] = init_containers
    spec["containers"] = containers
    spec["volumes"] = volumes
    deployment_spec: dict[str, Any] = {} if replicas is None else {"replicas": replicas}
    deployment_spec.update(
        {
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": pod_selector(selected)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {
                    "labels": {
                        **labels,
                        **({"printcloud.io/database-client": "true"} if database_client else {}),
                    },
                },
                "spec": spec,
            },
        }
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta(name, labels),
        "spec": deployment_spec,
    }


def service_objects(svc: ServiceInfo, services: Sequence[ServiceInfo] = ()) -> list[dict[str, Any]]:
    """ServiceAccount, Deployment, Service, PDB, HPA and NetworkPolicy of a service."""
    name = f"printcloud-{svc.name}"
    labels = object_labels(svc.name)
    p = profile(svc.name)
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": object_meta(name, labels),
            "automountServiceAccountToken": False,
        },
        deployment(svc, services),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": object_meta(name, labels),
            "spec": {
                "type": "ClusterIP",
                "selector": pod_selector(svc.name),
                "ports": [{"name": "http", "port": svc.http_port, "targetPort": "http"}],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": object_meta(name, labels),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": pod_selector(svc.name)}},
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": object_meta(name, labels),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": p.min_replicas,
                "maxReplicas": max_replicas(svc),
                "metrics": [cpu_metric(p)],
                "behavior": hpa_behavior(),
            },
        },
        network_policy(svc),
        *([shared_claim_object(svc)] if shared_volume(svc.name) else []),
        *(o for w in svc.workers for o in worker_objects(w)),
    ]


def shared_claim_object(svc: ServiceInfo) -> dict[str, Any]:
    """The ReadWriteMany claim every replica of the service mounts. The storage class
    is the cluster's default here; an overlay names one that offers ReadWriteMany."""
    volume = SHARED_VOLUMES[svc.name]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            **object_meta(shared_claim(svc.name), object_labels(svc.name)),
            "annotations": {"printcloud.io/purpose": volume.purpose},
        },
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": volume.size}},
        },
    }


def worker_deployment(w: WorkerInfo) -> dict[str, Any]:
    """A worker's Deployment: ``python -m <module> <args>`` from the service image.

    Probes: a worker serves no API; when it has a ``/metrics`` port (served from a
    thread of its own as soon as it starts) that is probed, which notices a dead or
    wedged process but not a stalled stream: consumer lag alerts cover that. A
    worker without any port gets no probe (the process exiting restarts the pod)."""
    name = f"printcloud-{w.name}"
    p = WORKER_PROFILE
    tmp, tmp_mount = tmp_volume()
    kafka_ca, kafka_ca_mount = kafka_ca_volume()
    volumes, mounts = [tmp, kafka_ca], [tmp_mount, kafka_ca_mount]
    if w.data_dir_field:
        volumes.append({"name": "data", "emptyDir": {"sizeLimit": "1Gi"}})
        mounts.append({"name": "data", "mountPath": WORKER_DATA_PATH})
    env: list[dict[str, Any]] = kafka_env(w, w.service)
    if w.replication_field:
        env.append(
            {"name": w.env(w.replication_field), "valueFrom": config_ref("topic-replication")}
        )
    if w.uses_database:
        env = [*database_env(as_service(w)), *env]
    container: dict[str, Any] = {
        "name": w.name,
        "image": image_ref(),
        "imagePullPolicy": "Always",
        "command": ["python", "-m", w.module],
        "args": list(w.args),
        "env": env,
        "envFrom": [{"configMapRef": {"name": name}}],
        "resources": container_resources(p),
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": mounts,
    }
    if w.metrics_port is not None:
        container["ports"] = [
            {"name": "metrics", "containerPort": w.metrics_port, "protocol": "TCP"}
        ]
        get = {"httpGet": {"path": "/metrics", "port": "metrics"}}
        container["startupProbe"] = {
            **get,
            "periodSeconds": 2,
            "timeoutSeconds": 2,
            "failureThreshold": 60,
        }
        container["readinessProbe"] = {
            **get,
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        }
        container["livenessProbe"] = {
            **get,
            "periodSeconds": 10,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        }
    labels = object_labels(w.name, component="worker")
    return _deployment(
        name, labels, w.name, w.uses_database, [container], volumes, replicas=p.min_replicas
    )


def as_service(w: WorkerInfo) -> ServiceInfo:
    """The worker's service, as far as its database login goes."""
    return ServiceInfo(
        name=w.service, env_prefix=w.env_prefix, http_port=0, api_prefixes=(),
        consumer_groups=(), settings_fields=frozenset({"database_url"}),
    )  # fmt: skip


def worker_objects(w: WorkerInfo) -> list[dict[str, Any]]:
    """ServiceAccount, Deployment, PodDisruptionBudget and NetworkPolicy of a worker
    (no Service, no autoscaler: a fixed number of replicas shares the partitions)."""
    name = f"printcloud-{w.name}"
    labels = object_labels(w.name, component="worker")
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": object_meta(name, labels),
            "automountServiceAccountToken": False,
        },
        worker_deployment(w),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": object_meta(name, labels),
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": pod_selector(w.name)}},
        },
        worker_network_policy(w),
    ]


def cpu_metric(p: Profile) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": p.cpu_target_percent},
        },
    }


def hpa_behavior() -> dict[str, Any]:
    return {
        "scaleDown": {
            "stabilizationWindowSeconds": 300,
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
        }
    }


def max_replicas(svc: ServiceInfo) -> int:
    """Replicas beyond the partition count of what a service consumes would idle as
    consumers; the profile's bound applies to services that consume nothing."""
    p = profile(svc.name)
    if not svc.consumer_groups:
        return p.max_replicas
    partitions = {t.name: t.partitions for t in topic_table()}
    useful = max(partitions[t] for t in svc.consumed_topics)
    return max(p.min_replicas, min(p.max_replicas, useful))
