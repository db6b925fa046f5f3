"""Fixtures for the deployment checks: the validation tools (installed on first use
by deploy/tools/install.sh into the machine's cache) and the rendered overlays."""

from __future__ import annotations

import pytest

from tests.support.deploy import Rendered, Tools, install_tools, render_overlays


@pytest.fixture(scope="session")
def tools() -> Tools:
    """Install (or reuse) the tools; fails with the installer's output if it cannot."""
    return install_tools()


@pytest.fixture(scope="session")
def rendered(tools: Tools, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """Every overlay rendered once per run."""
    return render_overlays(tools, tmp_path_factory.mktemp("rendered"))
