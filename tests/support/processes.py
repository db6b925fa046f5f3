"""Services as real processes for the end-to-end tests."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from shared.http.identities import SERVICE_GRANTS, callers_of, new_service_token, token_digest
from shared.infra.kafka import free_port
from shared.infra.processes import ServiceProcess

TOKEN = "op-" + uuid.uuid4().hex
SERVICE_TOKENS = {name: new_service_token(name) for name in SERVICE_GRANTS}
"""Each calling service's own token (the gateway's), as the platform provisions them."""


def service_process(name: str, env: dict[str, str], log_dir: Path) -> ServiceProcess:
    """``services.<name>`` as a process on a free port, with the operator ``TOKEN`` (a
    service with an API), its own service token (a caller: the gateway, which gets no
    operator token), the digests of its callers' tokens, and its other settings from
    ``env`` (names without the service's prefix)."""
    port = free_port()
    prefix = f"PRINTCLOUD_{name.upper()}_"
    full = {prefix + "HTTP_PORT": str(port), prefix + "SHUTDOWN_GRACE_S": "0"}
    if name in SERVICE_GRANTS:
        full[prefix + "SERVICE_TOKEN"] = SERVICE_TOKENS[name]
    else:
        full[prefix + "OPERATOR_TOKEN"] = TOKEN
    callers = {c: token_digest(SERVICE_TOKENS[c]) for c in callers_of(name)}
    if callers:
        full[prefix + "SERVICE_IDENTITIES"] = json.dumps(callers)
    full.update({prefix + k: v for k, v in env.items()})
    return ServiceProcess(name, f"services.{name}", full, log_dir / f"{name}.log", port)
