"""What the deployment checks share: the validation tools (installed on first use by
deploy/tools/install.sh into the machine's cache) and the overlays rendered by kustomize."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ("dev", "prod")


@dataclass(frozen=True)
class Tools:
    """Paths of the validation tools and schema directories."""

    kustomize: str
    kubeconform: str
    hadolint: str
    checkov: str
    kubernetes_version: str
    kubernetes_schemas: str
    crd_schemas: str
    compose_schema: str

    def kubeconform_cmd(self) -> list[str]:
        """kubeconform, strict, with only the offline schemas (a missing schema fails)."""
        return [
            self.kubeconform,
            "-strict",
            "-summary",
            "-kubernetes-version",
            self.kubernetes_version,
            "-schema-location",
            self.kubernetes_schemas
            + "/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}"
            + "/{{ .ResourceKind }}{{ .KindSuffix }}.json",
            "-schema-location",
            self.crd_schemas + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
        ]


def parse_env(path: Path) -> dict[str, str]:
    """The KEY=value lines of a shell environment file."""
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, raw = line.partition("=")
            values[key] = " ".join(shlex.split(raw))
    return values


@dataclass(frozen=True)
class Rendered:
    """One overlay rendered by kustomize: the file and its objects."""

    overlay: str
    path: Path
    objects: list[dict[str, Any]]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((o for o in self.of_kind(kind) if o["metadata"]["name"] == name), None)


def kustomize_build(tools: Tools, overlay_dir: Path) -> str:
    """``kustomize build`` of a directory; AssertionError with kustomize's message."""
    proc = subprocess.run(
        [tools.kustomize, "build", str(overlay_dir)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"kustomize build {overlay_dir} failed:\n{proc.stderr}"
    return proc.stdout


def install_tools() -> Tools:
    """Install (or reuse) the tools; fails with the installer's output if it cannot."""
    env = {**os.environ, "PYTHON": os.environ.get("PYTHON", sys.executable)}
    proc = subprocess.run(
        ["bash", str(ROOT / "deploy/tools/install.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    if proc.returncode != 0:
        pytest.fail(f"deploy/tools/install.sh failed:\n{proc.stderr[-4000:]}")
    values = parse_env(Path(proc.stdout.strip().splitlines()[-1]))
    return Tools(
        kustomize=values["KUSTOMIZE"],
        kubeconform=values["KUBECONFORM"],
        hadolint=values["HADOLINT"],
        checkov=values["CHECKOV"],
        kubernetes_version=values["KUBERNETES_VERSION"],
        kubernetes_schemas=values["KUBERNETES_SCHEMAS"],
        crd_schemas=values["CRD_SCHEMAS"],
        compose_schema=values["COMPOSE_SCHEMA"],
    )


def render_overlays(tools: Tools, base: Path) -> dict[str, Rendered]:
    """Every overlay rendered by kustomize into ``base``."""
    out = {}
    for overlay in OVERLAYS:
        text = kustomize_build(tools, ROOT / "k8s/overlays" / overlay)
        path = base / f"{overlay}.yaml"
        path.write_text(text)
        out[overlay] = Rendered(overlay, path, [d for d in yaml.safe_load_all(text) if d])
    return out
