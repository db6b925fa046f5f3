"""Kubernetes manifests generated from the code's tables.

``generate()`` returns every generated file under ``k8s/`` as text, keyed by its
path relative to the repository root. The hand-written files (kustomizations,
the Kafka cluster, namespace, network defaults, monitoring, overlay patches)
refer to them by name. ``printcloud k8s generate`` writes them; ``printcloud k8s
check`` and ``tests/deploy`` fail when a committed file differs.

Names and labels (the hand-written files and the docs rely on these):

- namespace ``printcloud``; every object of a service is ``printcloud-<service>``
  and its pods carry ``app.kubernetes.io/part-of: printcloud``,
  ``app.kubernetes.io/component: service`` and ``app.kubernetes.io/name: <service>``;
- the Kafka cluster (Strimzi) is ``printcloud``: bootstrap
  ``printcloud-kafka-bootstrap:9092``;
- the PostgreSQL cluster (CloudNativePG) is ``printcloud-db`` with database
  ``printcloud``: read-write service ``printcloud-db-rw:5432``;
- the Secret ``printcloud-<service>-db`` (``username``, ``password``) holds each
  service's database login, ``printcloud-operator-token`` (``token``) the operator
  token; CloudNativePG writes ``printcloud-db-superuser``;
- a worker process of a service (``ServiceSpec.workers``) is ``printcloud-<service>-
  <worker>`` with ``app.kubernetes.io/component: worker``: a Deployment without a
  Service, its ``/metrics`` on the port named ``metrics``;
- the ConfigMap ``printcloud-platform`` (hand-written in ``k8s/base``) holds where
  Kafka and PostgreSQL are, the public API's URL (``public-api-url``, the ingress
  host; every ``PUBLIC_URL`` setting reads it) and the replication factor of the
  topics workers create themselves (``topic-replication``); overlays merge theirs;
- the queues' document store is the PersistentVolumeClaim ``printcloud-queues-blobs``
  (ReadWriteMany: every replica sees the same files), mounted at
  ``/var/lib/printcloud/blobs``.

One module per concern under ``deploy/manifests/``: ``common`` (these names,
labels, profiles, security contexts, the YAML writer), ``config`` (environment,
ConfigMaps, Secrets, shared volumes), ``workloads`` (Deployments, Services,
probes, resources, autoscalers, disruption budgets), ``database`` (CloudNativePG,
the migrations Job), ``network`` (NetworkPolicies, Ingresses), ``kafka``
(Strimzi topics), ``keda`` (ScaledObjects) and ``kustomization``; this module
assembles the files.
"""

from __future__ import annotations

from collections.abc import Mapping

from deploy.manifests.common import dump
from deploy.manifests.database import migrations_objects, postgres_cluster
from deploy.manifests.kafka import REPLICATION, kafka_topics, kafka_users
from deploy.manifests.keda import keda_component, scaled_objects
from deploy.manifests.kustomization import ingress_kustomization, services_kustomization
from deploy.manifests.model import load_services
from deploy.manifests.network import ingresses
from deploy.manifests.workloads import service_objects
from shared.kafka.acls import KAFKA_USERS, READERS
from shared.service import ServiceSpec


def generate(specs: Mapping[str, ServiceSpec] | None = None) -> dict[str, str]:
    """Every generated file under ``k8s/``: path relative to the repository -> text."""
    services = load_services(specs)
    files: dict[str, str] = {
        "k8s/base/services/kustomization.yaml": dump([services_kustomization(services)]),
        "k8s/base/migrations/job.yaml": dump(migrations_objects(services)),
        "k8s/base/postgres/cluster.yaml": dump([postgres_cluster(services)]),
        "k8s/overlays/prod/keda/kustomization.yaml": dump([keda_component(services)]),
    }
    for s in services:
        files[f"k8s/base/services/{s.name}.yaml"] = dump(service_objects(s, services))
    routes = ingresses(services)
    files["k8s/base/ingress/kustomization.yaml"] = dump([ingress_kustomization(routes)])
    if routes:
        files["k8s/base/ingress/ingress.yaml"] = dump(routes)
    deployed = {s.name for s in services}
    users = [u for u in KAFKA_USERS if u.name in deployed or u.name in READERS]
    files["k8s/base/kafka/users.yaml"] = dump(kafka_users(users))
    for overlay, replication in REPLICATION.items():
        files[f"k8s/overlays/{overlay}/kafka-topics.yaml"] = dump(kafka_topics(replication))
    scaled = scaled_objects(services)
    if scaled:
        files["k8s/overlays/prod/keda/scaledobjects.yaml"] = dump(scaled)
    return files
