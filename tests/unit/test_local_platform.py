"""The local platform's fixed ports and kept secrets, without starting anything:
a taken port is an error naming the variable that moves it (never a silent move
to another port), and the operator token is kept in a file only its owner reads."""

from __future__ import annotations

import io
import json
import socket
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from deploy.platform.local import (
    EDGE_PORT_VAR,
    HTTP_PORT_VAR,
    LocalPlatform,
    Ports,
    PortTaken,
)
from shared.http.identities import token_digest


@pytest.fixture
def held() -> Iterator[int]:
    """A loopback port some other process listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def platform(root: Path, **ports: int) -> LocalPlatform:
    services = {"registry": "services.registry", "counters": "services.counters"}
    return LocalPlatform(services, ["registry", "counters"], root=root, ports=Ports(**ports))


def test_a_taken_worker_port_is_an_error_naming_the_variable(tmp_path: Path, held: int) -> None:
    local = platform(tmp_path, first_service=held - 2)  # registry, counters, then the worker
    assert local.worker_port("counters-rollups") == held
    with pytest.raises(PortTaken) as caught:
        local.check_ports()
    message = str(caught.value)
    assert f"port {held} (counters-rollups) is taken" in message
    assert f"{HTTP_PORT_VAR}=<first port>" in message
    assert f"now {held - 2}-{held}" in message
    assert local.worker_port("counters-rollups") == held, "never moved to another port"


def test_a_taken_edge_port_names_its_own_variable(tmp_path: Path, held: int) -> None:
    local = platform(tmp_path, edge=held)
    with pytest.raises(PortTaken, match=rf"port {held} \(edge\) is taken.*{EDGE_PORT_VAR}="):
        local.check_ports()


def test_every_fixed_port_is_listed_with_its_variable(tmp_path: Path) -> None:
    local = platform(tmp_path, first_service=18081, edge=18080, kafka=18092, postgres=18432)
    rows = {what: (port, var) for what, port, var in local.fixed_ports()}
    assert rows["registry"] == (18081, HTTP_PORT_VAR)
    assert rows["counters"] == (18082, HTTP_PORT_VAR)
    assert rows["counters-rollups"] == (18083, HTTP_PORT_VAR)
    assert rows["edge"] == (18080, EDGE_PORT_VAR)
    assert rows["kafka"][0] == 18092 and rows["postgres"][0] == 18432


def test_the_operator_token_is_kept_private_in_a_file_of_its_own(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.json"
    secrets.write_text("{}")
    secrets.chmod(0o644)  # left readable by an older version
    local = platform(tmp_path)
    kept = local.operator_token_file
    assert kept.read_text().strip() == local.operator_token
    for path in (kept, secrets):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    again = platform(tmp_path)
    assert again.operator_token == local.operator_token, "kept across starts"


@pytest.mark.parametrize(("width", "terminal"), [(60, True), (400, True), (60, False)])
def test_the_printed_table_never_cuts_a_path_or_an_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int, terminal: bool
) -> None:
    import deploy.cli as cli

    services = {n: f"services.{n}" for n in ("registry", "gateway", "counters")}
    local = LocalPlatform(services, [], root=tmp_path / ("a-long-home-directory-" * 3))
    demo_id, pool_id = str(uuid.uuid4()), str(uuid.uuid4())
    shown = io.StringIO()
    console = Console(file=shown, width=width, force_terminal=terminal, color_system=None)
    monkeypatch.setattr(cli, "console", console)
    cli._print_platform(local, f"{demo_id} (simulator; jobs land in {local.demo_spool})", pool_id)
    lines = shown.getvalue().splitlines()
    assert "…" not in shown.getvalue()
    for whole in (demo_id, pool_id, str(local.demo_spool), f"cat {local.operator_token_file}"):
        assert any(whole in line for line in lines), (whole, shown.getvalue())
    assert local.operator_token not in shown.getvalue()


def test_each_service_gets_its_own_identity_and_none_the_operator_token(
    tmp_path: Path,
) -> None:
    services = {
        "registry": "services.registry", "gateway": "services.gateway",
        "queues": "services.queues", "counters": "services.counters",
    }  # fmt: skip
    local = LocalPlatform(services, ["registry", "queues", "counters"], root=tmp_path)
    envs = {name: local.service_env(name) for name in services}
    gateway_token = envs["gateway"]["PRINTCLOUD_GATEWAY_SERVICE_TOKEN"]
    assert gateway_token.startswith("pcsvc_gateway_")
    # The gateway holds its own token and no operator token; nobody else holds its token.
    # No service holds the operator token: those with an API verify it by its digest.
    for name in services:
        assert local.operator_token not in envs[name].values(), name
    assert not any("OPERATOR" in var for var in envs["gateway"])
    for name in ("registry", "queues", "counters"):
        assert gateway_token not in envs[name].values(), name
        digest = envs[name][f"PRINTCLOUD_{name.upper()}_OPERATOR_TOKEN_SHA256"]
        assert digest == token_digest(local.operator_token), name
    # The registry, which the gateway calls, holds only the token's digest; the others
    # are told of no caller at all.
    identities = json.loads(envs["registry"]["PRINTCLOUD_REGISTRY_SERVICE_IDENTITIES"])
    assert identities == {"gateway": token_digest(gateway_token)}
    for name in ("queues", "counters"):
        assert f"PRINTCLOUD_{name.upper()}_SERVICE_IDENTITIES" not in envs[name], name
    again = LocalPlatform(services, ["registry", "queues", "counters"], root=tmp_path)
    assert again.service_token("gateway") == gateway_token, "kept across starts"
