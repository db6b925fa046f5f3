"""Services as real processes for the end-to-end tests."""

from __future__ import annotations

import uuid
from pathlib import Path

from shared.infra.kafka import free_port
from shared.infra.processes import ServiceProcess

TOKEN = "op-" + uuid.uuid4().hex


def service_process(name: str, env: dict[str, str], log_dir: Path) -> ServiceProcess:
    """``services.<name>`` as a process on a free port, with the operator ``TOKEN`` and
    its other settings from ``env`` (names without the service's prefix)."""
    port = free_port()
    prefix = f"PRINTCLOUD_{name.upper()}_"
    full = {
        prefix + "HTTP_PORT": str(port),
        prefix + "OPERATOR_TOKEN": TOKEN,
        prefix + "SHUTDOWN_GRACE_S": "0",
        **{prefix + k: v for k, v in env.items()},
    }
    return ServiceProcess(name, f"services.{name}", full, log_dir / f"{name}.log", port)
