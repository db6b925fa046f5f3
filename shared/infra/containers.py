"""Docker alternative to :mod:`shared.infra.kafka` / :mod:`shared.infra.postgres` (testcontainers).

Useful on machines with a Docker engine but without Java/Maven. Each ``start_*``
returns ``(container, address)``; call ``container.stop()`` when done (testcontainers'
Ryuk sidecar also removes the containers when the Python process exits).

The Kafka module of testcontainers 4.15 (``testcontainers.community.kafka``; the old
``testcontainers.kafka`` path still works but emits a DeprecationWarning) drives
Confluent's ``cp-kafka`` image only: its start script relies on
``/etc/confluent/docker/*``, so ``apache/kafka`` cannot be used with it. Confluent
Platform 8.1 ships Apache Kafka 4.1, in KRaft mode via ``with_kraft()``. Override the
images with ``PRINTCLOUD_KAFKA_IMAGE`` / ``PRINTCLOUD_POSTGRES_IMAGE``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import secrets
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shared.infra.kafka import InfraError

KAFKA_IMAGE = "confluentinc/cp-kafka:8.1.1"  # Confluent Platform 8.1.x = Apache Kafka 4.1.x
POSTGRES_IMAGE = "postgres:17"


def _raw_ping(host: str, timeout: float) -> bool | None:
    """``GET /_ping`` over a plain unix:// or tcp:// Docker socket; None if not applicable."""
    url = urlsplit(host)
    if url.scheme == "unix":
        if not Path(url.path).exists():
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address: str | tuple[str, int] = url.path
    elif url.scheme in ("tcp", "http") and not os.environ.get("DOCKER_TLS_VERIFY"):
        sock = socket.socket(socket.AF_INET6 if ":" in (url.hostname or "") else socket.AF_INET)
        address = (url.hostname or "127.0.0.1", url.port or 2375)
    else:
        return None
    with sock:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        reply = b""
        while b"\r\n" not in reply and (chunk := sock.recv(4096)):
            reply += chunk
    return reply.startswith(b"HTTP/1.") and b" 200 " in reply.split(b"\r\n", 1)[0]


def docker_available() -> bool:
    """True only if a Docker engine answers a ping within ~2 s. Never raises."""
    try:
        from testcontainers.core.docker_client import get_docker_host

        # Same discovery as testcontainers: its properties file, DOCKER_HOST, docker context.
        host = get_docker_host() or "unix:///var/run/docker.sock"
        answer = _raw_ping(host, timeout=2)
        if answer is not None:
            return answer
        docker: Any = importlib.import_module("docker")  # ssh://, TLS: let docker-py do it
        client = docker.DockerClient(
            base_url=host, timeout=2, use_ssh_client=host.startswith("ssh://")
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _require_docker() -> None:
    if not docker_available():
        raise InfraError(
            "No Docker engine answered. Start Docker (or set DOCKER_HOST), or use the "
            "Docker-free path: shared.infra.kafka.KafkaBroker and "
            "shared.infra.postgres.PostgresServer."
        )


def start_kafka_container() -> tuple[object, str]:
    """Start a single-node KRaft Kafka container; return ``(container, bootstrap)``."""
    _require_docker()
    from testcontainers.community.kafka import KafkaContainer

    image = os.environ.get("PRINTCLOUD_KAFKA_IMAGE", KAFKA_IMAGE)
    container = KafkaContainer(image).with_kraft()
    container.with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    container.with_env("KAFKA_NUM_PARTITIONS", "3")
    container.with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
    container.with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
    container.with_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", "1")
    container.with_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "1")
    try:
        container.start(timeout=120)
        return container, container.get_bootstrap_server()
    except Exception as exc:
        with contextlib.suppress(Exception):
            container.stop()
        raise InfraError(
            f"The Kafka container ({image}) did not start: {exc}. Check `docker logs` of "
            "the container and that the image can be pulled, or set PRINTCLOUD_KAFKA_IMAGE."
        ) from exc


def start_postgres_container() -> tuple[object, str]:
    """Start a PostgreSQL container; return ``(container, superuser dsn)``."""
    _require_docker()
    from testcontainers.community.postgres import PostgresContainer

    image = os.environ.get("PRINTCLOUD_POSTGRES_IMAGE", POSTGRES_IMAGE)
    container = PostgresContainer(
        image,
        username="postgres",
        password=secrets.token_urlsafe(24),
        dbname="postgres",
        driver=None,
    )
    # Same server settings as the local PostgresServer.
    container.with_command("postgres -c max_connections=300 -c shared_buffers=128MB")
    try:
        container.start()
        return container, container.get_connection_url(driver=None)
    except Exception as exc:
        with contextlib.suppress(Exception):
            container.stop()
        raise InfraError(
            f"The PostgreSQL container ({image}) did not start: {exc}. Check `docker logs` "
            "of the container and that the image can be pulled, or set "
            "PRINTCLOUD_POSTGRES_IMAGE."
        ) from exc
