"""PostgreSQL: the CloudNativePG cluster with one login role per service, each
service's DSN composed from the platform ConfigMap and its login Secret, and the
migrations Job that provisions roles and schemas and applies every service's
migrations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deploy.manifests.common import (
    CONTAINER_SECURITY,
    PART_OF,
    PG_CLUSTER,
    PG_DATABASE,
    POD_SECURITY,
    SUPERUSER_SECRET,
    Profile,
    config_ref,
    container_resources,
    image_ref,
    object_labels,
    object_meta,
    pod_selector,
    secret_ref,
    tmp_volume,
)
from deploy.manifests.model import ServiceInfo
from deploy.manifests.network import DNS_EGRESS, POSTGRES_EGRESS


def db_secret(name: str) -> str:
    """The Secret holding service ``name``'s database login."""
    return f"printcloud-{name}-db"


def dsn(user: str, password: str) -> str:
    # Kubernetes expands $(VAR) from variables defined earlier in the same list.
    return (
        f"postgresql://$({user}):$({password})@$(DATABASE_HOST):$(DATABASE_PORT)/$(DATABASE_NAME)"
    )


DATABASE_LOCATION_ENV = [
    {"name": "DATABASE_HOST", "valueFrom": config_ref("database-host")},
    {"name": "DATABASE_PORT", "valueFrom": config_ref("database-port")},
    {"name": "DATABASE_NAME", "valueFrom": config_ref("database-name")},
]


def database_env(svc: ServiceInfo) -> list[dict[str, Any]]:
    """The service's DSN, composed from the platform ConfigMap's address and its
    login Secret (the manifest never holds a secret, only references)."""
    return [
        *DATABASE_LOCATION_ENV,
        {"name": "DATABASE_USER", "valueFrom": secret_ref(db_secret(svc.name), "username")},
        {"name": "DATABASE_PASSWORD", "valueFrom": secret_ref(db_secret(svc.name), "password")},
        {"name": svc.env("database_url"), "value": dsn("DATABASE_USER", "DATABASE_PASSWORD")},
    ]


def migrations_objects(services: Sequence[ServiceInfo]) -> list[dict[str, Any]]:
    """The migrations Job: provision roles and schemas (as the superuser), then
    apply every service's migrations (each as its own role)."""
    name = "printcloud-migrate"
    labels = object_labels("migrate", component="migrations")
    services = [s for s in services if s.has_database]
    env: list[dict[str, Any]] = [
        *DATABASE_LOCATION_ENV,
        {"name": "DATABASE_ADMIN_USER", "valueFrom": secret_ref(SUPERUSER_SECRET, "username")},
        {"name": "DATABASE_ADMIN_PASSWORD", "valueFrom": secret_ref(SUPERUSER_SECRET, "password")},
        {
            "name": "PRINTCLOUD_ADMIN_DSN",
            "value": dsn("DATABASE_ADMIN_USER", "DATABASE_ADMIN_PASSWORD"),
        },
    ]
    for s in services:
        user, password = f"{s.name.upper()}_DATABASE_USER", f"{s.name.upper()}_DATABASE_PASSWORD"
        env += [
            {"name": user, "valueFrom": secret_ref(db_secret(s.name), "username")},
            {"name": password, "valueFrom": secret_ref(db_secret(s.name), "password")},
            {"name": s.env("database_url"), "value": dsn(user, password)},
        ]
    volume, mount = tmp_volume()
    resources = container_resources(Profile(cpu_request="50m", memory_request="128Mi"))

    def container(cname: str, args: list[str]) -> dict[str, Any]:
        return {
            "name": cname,
            "image": image_ref(),
            "imagePullPolicy": "Always",
            "args": args,
            "env": env,
            "resources": resources,
            "securityContext": CONTAINER_SECURITY,
            "volumeMounts": [mount],
        }

    names = [s.name for s in services]
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": object_meta(name, labels),
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": object_meta(name, labels),
            "spec": {
                "backoffLimit": 10,
                "activeDeadlineSeconds": 1800,
                "template": {
                    "metadata": {
                        "labels": {**labels, "printcloud.io/database-client": "true"},
                    },
                    "spec": {
                        "restartPolicy": "Never",
                        "serviceAccountName": name,
                        "automountServiceAccountToken": False,
                        "enableServiceLinks": False,
                        "securityContext": POD_SECURITY,
                        "initContainers": [container("provision", ["db", "provision", *names])],
                        "containers": [container("migrate", ["migrate", *names])],
                        "volumes": [volume],
                    },
                },
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": object_meta(name, labels),
            "spec": {
                "podSelector": {"matchLabels": pod_selector("migrate")},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [],
                "egress": [DNS_EGRESS, POSTGRES_EGRESS],
            },
        },
    ]


def postgres_cluster(services: Sequence[ServiceInfo]) -> dict[str, Any]:
    """The CloudNativePG cluster with one managed login role per service."""
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": PG_CLUSTER, "labels": {"app.kubernetes.io/part-of": PART_OF}},
        "spec": {
            "instances": 3,
            "primaryUpdateStrategy": "unsupervised",
            "enableSuperuserAccess": True,
            "bootstrap": {"initdb": {"database": PG_DATABASE, "owner": "printcloud_owner"}},
            "storage": {"size": "20Gi"},
            "walStorage": {"size": "10Gi"},
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"memory": "1Gi"},
            },
            "postgresql": {"parameters": {"max_connections": "300"}},
            "affinity": {"enablePodAntiAffinity": True, "topologyKey": "kubernetes.io/hostname"},
            "managed": {
                "roles": [
                    {
                        "name": s.name,
                        "ensure": "present",
                        "comment": f"Printcloud service {s.name}",
                        "login": True,
                        "superuser": False,
                        "createdb": False,
                        "createrole": False,
                        "inherit": False,
                        "replication": False,
                        "bypassrls": False,
                        "passwordSecret": {"name": db_secret(s.name)},
                    }
                    for s in services
                    if s.has_database
                ]
            },
        },
    }
