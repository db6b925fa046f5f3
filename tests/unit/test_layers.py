"""The house's floors hold: the import-linter contracts in pyproject.toml are kept.

``shared`` imports no service, the client and the composition layer; services import
no other service; the user-facing client imports no service code. A broken
contract names the import that breaks it; fix it by moving code, never by
loosening the contract.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command; lint_imports_command()",
            "--no-cache",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_the_import_contracts_are_kept() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_a_back_arrow_breaks_a_contract(tmp_path: Path) -> None:
    """The contracts are not vacuous: a shared module importing a service, the client
    importing a service, and a service importing another each break one (checked on a
    throwaway copy)."""
    for pkg in ("shared", "services", "client", "deploy"):
        subprocess.run(["cp", "-r", str(ROOT / pkg), str(tmp_path / pkg)], check=True)
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    (tmp_path / "shared" / "back_arrow.py").write_text("import services.queues.app\n")
    (tmp_path / "services" / "routing" / "sideways.py").write_text(
        textwrap.dedent("from services.registry.domain import model\n")
    )
    (tmp_path / "client" / "peek.py").write_text("from services.auth import handlers\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "shared.back_arrow -> services.queues.app" in result.stdout
    assert "services.routing.sideways -> services.registry.domain.model" in result.stdout
    assert "client.peek -> services.auth.handlers" in result.stdout
    assert "Contracts: 0 kept, 2 broken." in result.stdout
