"""Traffic: each service's and worker's NetworkPolicy (what may reach it, what it
may reach) and the Ingresses of the public API and of the devices' websocket host."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deploy.manifests.common import (
    DEVICES_HOST,
    GATEWAY_SERVICE,
    INGRESS_CONTROLLER_NAMESPACE,
    KAFKA_CLUSTER,
    KAFKA_PORT,
    MONITORING_NAMESPACE,
    PART_OF,
    PG_CLUSTER,
    PG_PORT,
    object_labels,
    object_meta,
    pod_selector,
)
from deploy.manifests.model import API_HOST, ServiceInfo, WorkerInfo

DNS_EGRESS = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}
POSTGRES_EGRESS = {
    "to": [{"podSelector": {"matchLabels": {"cnpg.io/cluster": PG_CLUSTER}}}],
    "ports": [{"protocol": "TCP", "port": PG_PORT}],
}
KAFKA_EGRESS = {
    "to": [
        {
            "podSelector": {
                "matchLabels": {
                    "strimzi.io/cluster": KAFKA_CLUSTER,
                    "strimzi.io/broker-role": "true",
                }
            }
        }
    ],
    "ports": [{"protocol": "TCP", "port": KAFKA_PORT}],
}


def from_namespace(ns: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}}


SERVICE_PODS = {
    "podSelector": {
        "matchLabels": {
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/component": "service",
        }
    }
}


def network_policy(svc: ServiceInfo) -> dict[str, Any]:
    """HTTP in from the ingress controller, Prometheus and the other Printcloud
    services (a service asks an owner over HTTP); out to DNS, Kafka, Postgres and
    the other services' HTTP ports."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(f"printcloud-{svc.name}", object_labels(svc.name)),
        "spec": {
            "podSelector": {"matchLabels": pod_selector(svc.name)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        from_namespace(INGRESS_CONTROLLER_NAMESPACE),
                        from_namespace(MONITORING_NAMESPACE),
                        SERVICE_PODS,
                    ],
                    "ports": [{"protocol": "TCP", "port": "http"}],
                }
            ],
            "egress": [
                DNS_EGRESS,
                KAFKA_EGRESS,
                *([POSTGRES_EGRESS] if svc.has_database else []),
                {"to": [SERVICE_PODS], "ports": [{"protocol": "TCP", "port": "http"}]},
            ],
        },
    }


def worker_network_policy(w: WorkerInfo) -> dict[str, Any]:
    """A worker serves no API: Prometheus in to its metrics port, when it has one;
    out to DNS, Kafka and, when it uses the database, Postgres."""
    ingress = (
        [
            {
                "from": [from_namespace(MONITORING_NAMESPACE)],
                "ports": [{"protocol": "TCP", "port": "metrics"}],
            }
        ]
        if w.metrics_port is not None
        else []
    )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(f"printcloud-{w.name}", object_labels(w.name, component="worker")),
        "spec": {
            "podSelector": {"matchLabels": pod_selector(w.name)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": [
                DNS_EGRESS,
                KAFKA_EGRESS,
                *([POSTGRES_EGRESS] if w.uses_database else []),
            ],
        },
    }


def _backend(name: str) -> dict[str, Any]:
    return {"service": {"name": f"printcloud-{name}", "port": {"name": "http"}}}


def _api_rule(services: Sequence[ServiceInfo], *, stream: bool) -> dict[str, Any]:
    """The public API host's paths: the route table of the edge
    (:data:`services.edge.routes.ROUTES`) as nginx regexes, longest first (the
    order in which ingress-nginx tries them, which agrees with the edge's "most
    specific wins"); ``stream`` selects the routes with large or long-lived bodies."""
    from services.edge.routes import ROUTES

    deployed = {s.name for s in services}
    paths = [
        {"path": r.regex, "pathType": "ImplementationSpecific", "backend": _backend(r.service)}
        for r in sorted(ROUTES, key=lambda r: (-len(r.regex), r.regex))
        if r.service in deployed and not r.websocket and r.stream == stream
    ]
    return {"host": API_HOST, "http": {"paths": paths}}


def _ingress_rule(host: str, services: Sequence[ServiceInfo]) -> dict[str, Any]:
    paths = [
        {
            "path": prefix,
            "pathType": "Prefix",
            "backend": {"service": {"name": f"printcloud-{s.name}", "port": {"name": "http"}}},
        }
        for s in services
        for prefix in (s.api_prefixes or ("/",))
    ]
    return {"host": host, "http": {"paths": paths}}


def ingresses(services: Sequence[ServiceInfo]) -> list[dict[str, Any]]:
    """The public HTTP API (path routing to each service's prefixes) and, when the
    websocket gateway exists, its own host with long idle timeouts."""
    api = [s for s in services if s.name != GATEWAY_SERVICE and s.api_prefixes]
    gateway = [s for s in services if s.name == GATEWAY_SERVICE]
    out: list[dict[str, Any]] = []
    streams = _api_rule(api, stream=True)
    if api:
        out.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": "printcloud-api",
                    "labels": object_labels("api", component="ingress"),
                    "annotations": {
                        "nginx.ingress.kubernetes.io/proxy-body-size": "1m",
                        "nginx.ingress.kubernetes.io/use-regex": "true",
                    },
                },
                "spec": {
                    "ingressClassName": "nginx",
                    "tls": [{"hosts": [API_HOST], "secretName": "printcloud-api-tls"}],
                    "rules": [_api_rule(api, stream=False)],
                },
            }
        )
    if api and streams["http"]["paths"]:
        # Uploads, downloads and server-sent events: neither buffered nor capped by
        # nginx (the service enforces its own limits), long reads allowed.
        out.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": "printcloud-api-streams",
                    "labels": object_labels("api-streams", component="ingress"),
                    "annotations": {
                        "nginx.ingress.kubernetes.io/proxy-body-size": "0",
                        "nginx.ingress.kubernetes.io/proxy-request-buffering": "off",
                        "nginx.ingress.kubernetes.io/proxy-buffering": "off",
                        "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
                        "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
                        "nginx.ingress.kubernetes.io/use-regex": "true",
                    },
                },
                "spec": {
                    "ingressClassName": "nginx",
                    "tls": [{"hosts": [API_HOST], "secretName": "printcloud-api-tls"}],
                    "rules": [streams],
                },
            }
        )
    if gateway:
        out.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": "printcloud-gateway",
                    "labels": object_labels(GATEWAY_SERVICE, component="ingress"),
                    "annotations": {
                        "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
                        "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
                        "nginx.ingress.kubernetes.io/proxy-body-size": "1m",
                    },
                },
                "spec": {
                    "ingressClassName": "nginx",
                    "tls": [{"hosts": [DEVICES_HOST], "secretName": "printcloud-devices-tls"}],
                    "rules": [_ingress_rule(DEVICES_HOST, gateway)],
                },
            }
        )
    return out
