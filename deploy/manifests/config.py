"""What a generated container is configured with: environment (addresses from the
platform ConfigMap, secrets by reference), each service's and worker's own
ConfigMap, the Secrets the operator creates, and the directories a setting names
(shared volumes, a worker's data directory)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deploy.manifests.common import (
    DEVICES_HOST,
    GATEWAY_SERVICE,
    KAFKA_CA_PATH,
    KAFKA_CA_SECRET,
    OPERATOR_TOKEN_SECRET,
    SHUTDOWN_GRACE_S,
    config_ref,
    secret_ref,
)
from deploy.manifests.database import database_env, db_secret
from deploy.manifests.model import ServiceInfo, WorkerInfo
from shared.http.identities import callers_of


@dataclass(frozen=True)
class SharedVolume:
    """A directory every replica of a service must see (ReadWriteMany)."""

    name: str
    """The claim is ``printcloud-<service>-<name>``."""
    field: str
    """The settings field naming the directory."""
    mount_path: str
    size: str
    purpose: str


SHARED_VOLUMES: dict[str, SharedVolume] = {
    "queues": SharedVolume(
        name="blobs",
        field="blob_dir",
        mount_path="/var/lib/printcloud/blobs",
        size="100Gi",
        purpose="the document store (content-addressed files)",
    ),
}
WORKER_DATA_PATH = "/var/lib/printcloud/data"


def shared_volume(name: str) -> SharedVolume | None:
    """The shared volume of service ``name``, if it has one."""
    return SHARED_VOLUMES.get(name)


def shared_claim(name: str) -> str:
    """The PersistentVolumeClaim of service ``name``'s shared volume."""
    return f"printcloud-{name}-{SHARED_VOLUMES[name].name}"


def secrets_secret(name: str) -> str:
    """The Secret holding service ``name``'s own secret settings."""
    return f"printcloud-{name}-secrets"


def secret_key(field: str) -> str:
    """The key of a secret setting in its Secret (``key_encryption_key`` ->
    ``key-encryption-key``)."""
    return field.replace("_", "-")


def kafka_user_name(user: str) -> str:
    """The Strimzi ``KafkaUser`` (and so the Kafka principal and its password's Secret)
    of a user of shared/kafka/acls.py."""
    return f"printcloud-{user}"


def kafka_env(owner: ServiceInfo | WorkerInfo, user: str) -> list[dict[str, Any]]:
    """How a container reaches Kafka: the TLS bootstrap address, and ``user``'s password
    from the Secret the Strimzi User Operator keeps (its name and the CA file are in the
    container's own ConfigMap, :func:`kafka_config`)."""
    secret = kafka_user_name(user)
    return [
        {"name": owner.env("kafka_bootstrap"), "valueFrom": config_ref("kafka-bootstrap")},
        {"name": owner.env("kafka_password"), "valueFrom": secret_ref(secret, "password")},
    ]


def kafka_config(owner: ServiceInfo | WorkerInfo, user: str) -> dict[str, str]:
    """The non-secret half of a container's Kafka identity: its user, the CA it trusts."""
    return {
        owner.env("kafka_username"): kafka_user_name(user),
        owner.env("kafka_ca_file"): f"{KAFKA_CA_PATH}/ca.crt",
    }


def kafka_ca_volume() -> tuple[dict[str, Any], dict[str, Any]]:
    """The cluster CA certificate, mounted read-only where ``kafka_ca_file`` points."""
    return (
        {
            "name": "kafka-ca",
            "secret": {
                "secretName": KAFKA_CA_SECRET,
                "items": [{"key": "ca.crt", "path": "ca.crt"}],
            },
        },
        {"name": "kafka-ca", "mountPath": KAFKA_CA_PATH, "readOnly": True},
    )


def strimzi_secrets(services: Sequence[ServiceInfo]) -> dict[str, list[str]]:
    """The Secrets the manifests reference that Strimzi writes: each service's Kafka
    user's password (User Operator) and the cluster CA certificate."""
    out = {kafka_user_name(s.name): ["password"] for s in services}
    out[KAFKA_CA_SECRET] = ["ca.crt"]
    return out


def required_secrets(services: Sequence[ServiceInfo]) -> dict[str, list[str]]:
    """Every Secret the manifests reference that the operator creates, with its keys
    (CloudNativePG creates the superuser one, Strimzi those of :func:`strimzi_secrets`)."""
    out: dict[str, list[str]] = {OPERATOR_TOKEN_SECRET: ["token", "sha256"]}
    for s in services:
        if s.has_database:
            out[db_secret(s.name)] = ["username", "password"]
        keys = [secret_key(f) for f in s.secret_fields]
        if callers(s, services):
            keys.append(secret_key(SERVICE_IDENTITIES))
        if keys:
            out[secrets_secret(s.name)] = keys
    return out


SERVICE_IDENTITIES = "service_identities"
"""A callee's setting: the digests of the service tokens of the services that call it."""


def callers(svc: ServiceInfo, services: Sequence[ServiceInfo]) -> list[str]:
    """The deployed services whose grant lets them call ``svc`` as themselves."""
    deployed = {s.name for s in services}
    if SERVICE_IDENTITIES not in svc.settings_fields:
        return []
    return [c for c in callers_of(svc.name) if c in deployed]


def service_env(svc: ServiceInfo, services: Sequence[ServiceInfo] = ()) -> list[dict[str, Any]]:
    """Environment of a service container: addresses from the platform ConfigMap,
    secrets by reference. Only services with an API of their own (a database) verify the
    operator token, and they get its digest, never the token; a service calling another
    has its own token in its own Secret, the callee only the digests
    (``service-identities``) in its own."""
    public = []
    if "public_url" in svc.settings_fields and svc.name != GATEWAY_SERVICE:
        public.append({"name": svc.env("public_url"), "valueFrom": config_ref("public-api-url")})
    if "api_url" in svc.settings_fields:  # the IPP endpoint calls the public API
        public.append({"name": svc.env("api_url"), "valueFrom": config_ref("public-api-url")})
    # The portal is served behind the same ingress: its pages' origin is the public URL,
    # and auth accepts passkeys made on that origin only.
    for field in ("portal_url", "passkey_origins"):
        if field in svc.settings_fields:
            public.append({"name": svc.env(field), "valueFrom": config_ref("public-api-url")})
    return [
        *(database_env(svc) if svc.has_database else []),
        *kafka_env(svc, svc.name),
        *public,
        *(
            [{"name": svc.env("operator_token_sha256"),
              "valueFrom": secret_ref(OPERATOR_TOKEN_SECRET, "sha256")}]
            if svc.has_database
            else []
        ),
        *(
            {"name": svc.env(f), "valueFrom": secret_ref(secrets_secret(svc.name), secret_key(f))}
            for f in svc.secret_fields
        ),
        *(
            [{"name": svc.env(SERVICE_IDENTITIES),
              "valueFrom": secret_ref(secrets_secret(svc.name), secret_key(SERVICE_IDENTITIES))}]
            if callers(svc, services)
            else []
        ),
    ]  # fmt: skip


JWKS_PATH = "/.well-known/jwks.json"
AUTH_SERVICE = "auth"


def jwks_url(services: Sequence[ServiceInfo]) -> str | None:
    """In-cluster URL of the auth service's JWKS, when auth is deployed and serves it."""
    auth = next((s for s in services if s.name == AUTH_SERVICE), None)
    if auth is None or JWKS_PATH not in auth.routes:
        return None
    return f"http://printcloud-{auth.name}:{auth.http_port}{JWKS_PATH}"


def service_config(svc: ServiceInfo, services: Sequence[ServiceInfo] = ()) -> dict[str, str]:
    """The service's own ConfigMap: non-secret settings in its env prefix."""
    config = {
        svc.env("http_host"): "0.0.0.0",
        svc.env("http_port"): str(svc.http_port),
        svc.env("log_level"): "INFO",
        svc.env("log_json"): "true",
        svc.env("shutdown_grace_s"): str(SHUTDOWN_GRACE_S),
        **kafka_config(svc, svc.name),
    }
    if "public_url" in svc.settings_fields and svc.name == GATEWAY_SERVICE:
        config[svc.env("public_url")] = f"https://{DEVICES_HOST}"
    volume = shared_volume(svc.name)
    if volume is not None:
        config[svc.env(volume.field)] = volume.mount_path
    jwks = jwks_url(services)
    if jwks and "auth_jwks_url" in svc.settings_fields and svc.name != AUTH_SERVICE:
        config[svc.env("auth_jwks_url")] = jwks
    if "gateway_url" in svc.settings_fields:
        config[svc.env("gateway_url")] = f"wss://{DEVICES_HOST}/v1/devices/ws"
    registry = next((s for s in services if s.name == "registry"), None)
    if registry is not None and "registry_url" in svc.settings_fields:
        config[svc.env("registry_url")] = f"http://printcloud-registry:{registry.http_port}"
    return config


def worker_config(w: WorkerInfo) -> dict[str, str]:
    """A worker's own ConfigMap: log settings, its data directory and metrics port."""
    config = {
        w.env("http_host"): "0.0.0.0",
        w.env("log_level"): "INFO",
        w.env("log_json"): "true",
        **kafka_config(w, w.service),
    }
    if w.data_dir_field:
        config[w.env(w.data_dir_field)] = WORKER_DATA_PATH
    if w.metrics_port_field and w.metrics_port is not None:
        config[w.env(w.metrics_port_field)] = str(w.metrics_port)
    return config
