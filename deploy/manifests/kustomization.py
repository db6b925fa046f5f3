"""The generated kustomizations: the per-service files with each service's and
worker's ConfigMap, and the ingress directory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deploy.manifests.common import (
    object_labels,
)
from deploy.manifests.config import service_config, worker_config
from deploy.manifests.model import ServiceInfo


def services_kustomization(services: Sequence[ServiceInfo]) -> dict[str, Any]:
    """The kustomization of the per-service files, with each service's ConfigMap."""
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [f"{s.name}.yaml" for s in services],
        "configMapGenerator": [
            *(
                {
                    "name": f"printcloud-{s.name}",
                    "options": {"labels": object_labels(s.name)},
                    "literals": [f"{k}={v}" for k, v in service_config(s, services).items()],
                }
                for s in services
            ),
            *(
                {
                    "name": f"printcloud-{w.name}",
                    "options": {"labels": object_labels(w.name, component="worker")},
                    "literals": [f"{k}={v}" for k, v in worker_config(w).items()],
                }
                for s in services
                for w in s.workers
            ),
        ],
    }


def ingress_kustomization(routes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The ingress directory's kustomization: the Ingresses, when there are any."""
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["ingress.yaml"] if routes else [],
    }
