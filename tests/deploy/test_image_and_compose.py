"""deploy/Dockerfile and deploy/compose.yaml: linted, honest about what they copy
and run, and valid against the Compose Specification."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import jsonschema
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from deploy.catalog import SERVICES, load_spec
from deploy.cli import app
from deploy.manifests.model import load_services
from tests.support.deploy import ROOT, Tools

DOCKERFILE = ROOT / "deploy/Dockerfile"


def _instructions() -> list[dict[str, str]]:
    parser = DockerfileParser(path=str(DOCKERFILE))
    return list(parser.structure)


def _final_stage() -> list[dict[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, ins in enumerate(instructions) if ins["instruction"] == "FROM")
    return instructions[last_from:]


def test_hadolint_passes(tools: Tools) -> None:
    proc = subprocess.run(
        [tools.hadolint, "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_copied_path_exists_and_survives_the_dockerignore() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copies = [
        i for i in _instructions() if i["instruction"] == "COPY" and "--from=" not in i["value"]
    ]
    assert copies
    for ins in copies:
        *sources, _dest = ins["value"].split()
        for src in sources:
            assert (ROOT / src).exists(), f"COPY {src}: no such path in the repository"
            assert src.rstrip("/") in allowed, f"COPY {src}: excluded by .dockerignore"


def test_final_stage_runs_as_non_root_with_healthcheck_and_sigterm() -> None:
    final = _final_stage()
    by_kind = {}
    for ins in final:
        by_kind.setdefault(ins["instruction"], []).append(ins["value"])
    assert by_kind["USER"][-1].split(":")[0] not in ("0", "root")
    assert by_kind["STOPSIGNAL"] == ["SIGTERM"]
    (healthcheck,) = by_kind["HEALTHCHECK"]
    assert "python" in healthcheck and "/healthz" in "".join(by_kind["ENV"])
    assert "curl" not in healthcheck
    assert all("--from=builder" in v for v in by_kind["COPY"]), (
        "the final stage copies only the venv"
    )
    for forbidden in ("apt-get", "pip install", "gcc", "build-essential"):
        assert not any(forbidden in v for v in by_kind.get("RUN", [])), forbidden
    args = " ".join(i["value"] for i in _instructions() if i["instruction"] == "ARG")
    assert re.search(r"PYTHON_IMAGE=python:3\.11[\w.-]*-slim", args), args
    assert final[0]["value"] == "${PYTHON_IMAGE}"


def test_entrypoint_is_the_console_script_and_runs_every_service() -> None:
    final = _final_stage()
    entrypoint = json.loads(next(i["value"] for i in final if i["instruction"] == "ENTRYPOINT"))
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint[0] in scripts and scripts[entrypoint[0]] == "deploy.cli:main"
    commands = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}  # type: ignore[union-attr]
    assert {"run", "migrate", "migrate-check"} <= commands
    assert "db" in {g.name for g in app.registered_groups}
    compose = yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())
    services_yaml = {
        name: yaml.safe_load((ROOT / f"k8s/base/services/{name}.yaml").read_text().split("---")[1])
        for name in SERVICES
    }
    for name in SERVICES:
        load_spec(name)  # importable: `printcloud run <name>` finds it
        assert compose["services"][name]["command"] == ["run", name]
        container = services_yaml[name]["spec"]["template"]["spec"]["containers"][0]
        assert "command" not in container and container["args"] == ["run", name]


def test_the_wheel_the_image_installs_carries_every_migration(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = tmp_path.glob("printcloud-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in SERVICES:
        spec = load_spec(name)
        files = sorted(spec.migrations_dir.glob("*.sql")) if spec.migrations_dir else []
        for f in files:
            assert f.relative_to(ROOT).as_posix() in names, f"{f} is not in the wheel"
    for f in (ROOT / "shared/db/migrations").glob("*.sql"):
        assert f.relative_to(ROOT).as_posix() in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "printcloud = deploy.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


# ---- compose -----------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_model() -> dict:
    return yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())


def test_compose_file_is_valid_against_the_compose_specification(
    tools: Tools, compose_model: dict
) -> None:
    schema = json.loads(Path(tools.compose_schema).read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(compose_model)]
    assert not errors, errors
    broken = {**compose_model, "services": {**compose_model["services"], "kafka": {"imagee": "x"}}}
    assert list(validator.iter_errors(broken)), "the schema must reject unknown keys"


def test_compose_runs_every_service_after_the_init_job(compose_model: dict) -> None:
    services = compose_model["services"]
    assert {"kafka", "postgres", "init"} <= set(services)
    assert "printcloud migrate" in services["init"]["command"][0]
    assert "db provision" in services["init"]["command"][0]
    assert "topics create" in services["init"]["command"][0]
    for name in SERVICES:
        block = services[name]
        assert block["depends_on"]["init"] == {"condition": "service_completed_successfully"}
        assert block["healthcheck"]["test"][0] == "CMD"
        assert block["read_only"] is True and block["cap_drop"] == ["ALL"]
    for name, block in services.items():
        if name != "init":
            assert "healthcheck" in block and not block["healthcheck"].get("disable"), name


def test_compose_publishes_only_on_loopback(compose_model: dict) -> None:
    for name, block in compose_model["services"].items():
        for port in block.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: {port}"


def test_compose_holds_no_secret(compose_model: dict) -> None:
    secretish = re.compile(r"PASSWORD|TOKEN|SECRET|KEY|DSN|DATABASE_URL")
    infos = {s.name: s for s in load_services()}
    for name, block in compose_model["services"].items():
        for var, value in block.get("environment", {}).items():
            if not secretish.search(var) or var.endswith("_BOOTSTRAP"):
                continue
            refs = re.findall(r"\$\{([A-Z0-9_]+):\?[^}]*\}", str(value))
            assert refs, f"{name}: {var} must come from deploy/.env as ${{VAR:?...}}"
            if "://" in str(value):
                assert re.sub(r"\$\{[^}]*\}", "", str(value)).count(":") == 3, value
    for info in infos.values():
        for field in info.secret_fields:
            assert info.env(field) in compose_model["services"][info.name]["environment"]


def test_compose_runs_the_workers_the_edge_and_a_shared_document_store(
    compose_model: dict,
) -> None:
    services = compose_model["services"]
    infos = {s.name: s for s in load_services()}
    for name in SERVICES:
        for w_name, w in load_spec(name).workers.items():
            block = services[f"{name}-{w_name}"]
            assert block["entrypoint"] == ["python", "-m", w.module]
            assert block["command"] == list(w.args)
            assert block["depends_on"]["init"] == {"condition": "service_completed_successfully"}
            assert block["read_only"] is True and block["cap_drop"] == ["ALL"]
            env = block["environment"]
            if w.data_dir_field:
                assert env[infos[name].env(w.data_dir_field)] in block["tmpfs"]
            if w.metrics_port_field:
                port = env[infos[name].env(w.metrics_port_field)]
                assert f"127.0.0.1:{port}/metrics" in block["healthcheck"]["test"][-1]
    edge = services["edge"]
    assert edge["command"] == ["edge"] and edge["ports"] == ["127.0.0.1:8080:8080"]
    upstreams = json.loads(edge["environment"]["PRINTCLOUD_EDGE_UPSTREAMS"])
    assert upstreams == {name: f"http://{name}:8080" for name in SERVICES}
    for info in infos.values():
        if "public_url" in info.settings_fields and info.name != "gateway":
            assert services[info.name]["environment"][info.env("public_url")] == (
                "http://127.0.0.1:8080"
            ), info.name
    queues = services["queues"]
    blob_dir = queues["environment"][infos["queues"].env("blob_dir")]
    (volume,) = [v for v in queues["volumes"] if v.endswith(f":{blob_dir}")]
    assert volume.split(":")[0] in compose_model["volumes"], "a named volume"


def test_the_image_holds_every_python_package_of_the_composition_layer() -> None:
    """``printcloud`` in the image imports the whole of deploy/'s Python code: each of its
    packages is copied (a new one left out would break the image's entry point)."""
    copied = {
        src.rstrip("/")
        for ins in _instructions()
        if ins["instruction"] == "COPY" and "--from=" not in ins["value"]
        for src in ins["value"].split()[:-1]
    }
    packages = {
        f"deploy/{p.name}" for p in (ROOT / "deploy").iterdir() if (p / "__init__.py").is_file()
    }
    modules = {f"deploy/{p.name}" for p in (ROOT / "deploy").glob("*.py")}
    assert packages | modules <= copied, sorted((packages | modules) - copied)
