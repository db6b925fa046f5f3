"""The generators: committed files are what the code produces, and they follow the
code's tables (SERVICES, routes, consumers, TOPICS) when those change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from pydantic_settings import SettingsConfigDict

from deploy.catalog import SERVICES, load_spec
from deploy.manifests import common, compose, crdschema, k8s
from deploy.manifests.generate import ROOT, generate_all, stale, write
from deploy.manifests.model import DeployError, consumer_groups, load_services
from shared.events.registry import EventRegistry
from shared.kafka.topics import TOPICS
from shared.service import ConsumerSpec, Runtime, ServiceSpec
from shared.settings import ServiceSettings


def test_committed_files_are_what_the_code_generates() -> None:
    assert stale() == [], "run: printcloud k8s generate"


def test_the_freshness_check_notices_changes(tmp_path: Path) -> None:
    write(tmp_path)
    assert stale(tmp_path) == []
    topics = tmp_path / "k8s/overlays/prod/kafka-topics.yaml"
    topics.write_text(topics.read_text().replace("partitions: ", "partitions: 1"))
    left_over = tmp_path / "k8s/base/services/retired.yaml"
    left_over.write_text(common.HEADER + "{}\n")
    (tmp_path / "deploy/compose.yaml").unlink()
    problems = stale(tmp_path)
    assert any("kafka-topics.yaml: differs" in p for p in problems)
    assert any("retired.yaml: generated file no longer produced" in p for p in problems)
    assert any("compose.yaml: missing" in p for p in problems)


# ---- a fake service table with a websocket gateway and a consumer -------------


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_GATEWAY_", extra="ignore")


class CountersSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_COUNTERS_", extra="ignore")


class ReportsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PRINTCLOUD_REPORTS_", extra="ignore")


async def _noop(_: web.Request) -> web.Response:
    return web.Response()


def _gateway_routes(app: web.Application) -> None:
    app.router.add_get("/v1/connect", _noop)


def _counters_routes(app: web.Application) -> None:
    app.router.add_get("/v1/usage/{tenant_id}", _noop)


def _counters_consumers(rt: Runtime) -> list[ConsumerSpec]:
    return [ConsumerSpec(f"{rt.schema}-printers", [TOPICS[1].name, TOPICS[0].name])]


FAKE = {
    "registry": load_spec("registry"),
    "gateway": ServiceSpec(
        "gateway", GatewaySettings, EventRegistry([]), add_routes=_gateway_routes
    ),
    "counters": ServiceSpec(
        "counters",
        CountersSettings,
        EventRegistry([]),
        add_routes=_counters_routes,
        consumers=_counters_consumers,
    ),
}


def _docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def test_gateway_gets_its_own_ingress_with_long_idle_timeouts() -> None:
    files = k8s.generate(FAKE)
    ingresses = {i["metadata"]["name"]: i for i in _docs(files["k8s/base/ingress/ingress.yaml"])}
    gateway = ingresses["printcloud-gateway"]
    annotations = gateway["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"
    assert annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"] == "3600"
    (rule,) = gateway["spec"]["rules"]
    assert rule["host"] == common.DEVICES_HOST
    assert [(p["path"], p["backend"]["service"]["name"]) for p in rule["http"]["paths"]] == [
        ("/v1/connect", "printcloud-gateway")
    ]
    api_backends = {
        p["backend"]["service"]["name"]
        for r in ingresses["printcloud-api"]["spec"]["rules"]
        for p in r["http"]["paths"]
    }
    assert api_backends == {"printcloud-registry", "printcloud-counters"}


def test_without_a_gateway_there_is_no_gateway_ingress() -> None:
    files = k8s.generate({"registry": FAKE["registry"], "counters": FAKE["counters"]})
    names = [i["metadata"]["name"] for i in _docs(files["k8s/base/ingress/ingress.yaml"])]
    assert names == ["printcloud-api"]


def test_consumers_get_a_scaled_object_on_lag_replacing_their_hpa() -> None:
    files = k8s.generate(FAKE)
    scaled = {
        s["metadata"]["name"]: s for s in _docs(files["k8s/overlays/prod/keda/scaledobjects.yaml"])
    }
    assert "printcloud-gateway" not in scaled
    counters = scaled["printcloud-counters"]["spec"]
    kafka = [t["metadata"] for t in counters["triggers"] if t["type"] == "kafka"]
    assert {(m["consumerGroup"], m["topic"]) for m in kafka} == {
        ("counters-printers", TOPICS[1].name),
        ("counters-printers", TOPICS[0].name),
    }
    assert all(m["bootstrapServers"] == common.KAFKA_BOOTSTRAP for m in kafka)
    assert counters["maxReplicaCount"] <= max(TOPICS[0].partitions, TOPICS[1].partitions)
    component = _docs(files["k8s/overlays/prod/keda/kustomization.yaml"])[0]
    deleted = {p["target"]["name"] for p in component["patches"]}
    assert "printcloud-counters" in deleted and "printcloud-gateway" not in deleted


def test_consumer_groups_are_read_without_a_running_instance() -> None:
    assert consumer_groups(FAKE["counters"])[0].name == "counters-printers"
    assert consumer_groups(FAKE["gateway"]) == ()


def test_consumers_that_need_a_live_runtime_are_refused_with_the_service_name() -> None:
    def needs_pool(rt: Runtime) -> list[ConsumerSpec]:
        return [ConsumerSpec(rt.pool.get_size(), ["x"])]  # type: ignore[arg-type]

    spec = ServiceSpec("counters", CountersSettings, EventRegistry([]), consumers=needs_pool)
    with pytest.raises(DeployError, match="counters"):
        consumer_groups(spec)


def test_undeclared_topics_and_shared_prefixes_are_refused() -> None:
    def reads_unknown(rt: Runtime) -> list[ConsumerSpec]:
        return [ConsumerSpec("c", ["no.such.topic"])]

    spec = ServiceSpec("counters", CountersSettings, EventRegistry([]), consumers=reads_unknown)
    with pytest.raises(DeployError, match="undeclared topics"):
        consumer_groups(spec)
    twin = ServiceSpec("reports", ReportsSettings, EventRegistry([]), add_routes=_counters_routes)
    with pytest.raises(DeployError, match="/v1/usage"):
        load_services({"counters": FAKE["counters"], "reports": twin})


def test_every_generated_artefact_follows_the_service_table() -> None:
    files = generate_all(FAKE)
    assert {f"k8s/base/services/{n}.yaml" for n in FAKE} <= set(files)
    services_kustomization = _docs(files["k8s/base/services/kustomization.yaml"])[0]
    assert services_kustomization["resources"] == [f"{n}.yaml" for n in FAKE]
    job = _docs(files["k8s/base/migrations/job.yaml"])[1]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate", *FAKE]
    roles = _docs(files["k8s/base/postgres/cluster.yaml"])[0]["spec"]["managed"]["roles"]
    assert [r["name"] for r in roles] == list(FAKE)
    assert set(yaml.safe_load(files["deploy/compose.yaml"])["services"]) >= set(FAKE)


def test_committed_compose_file_has_every_service() -> None:
    model = yaml.safe_load((ROOT / "deploy/compose.yaml").read_text())
    missing = set(SERVICES) - set(model["services"])
    assert not missing, f"deploy/compose.yaml lacks {missing}; run: printcloud k8s generate"


def test_committed_manifests_have_every_service() -> None:
    names = yaml.safe_load((ROOT / "k8s/base/services/kustomization.yaml").read_text())["resources"]
    assert names == [f"{n}.yaml" for n in SERVICES]


def test_termination_grace_covers_the_whole_shutdown() -> None:
    settings_default = ServiceSettings.model_fields["shutdown_grace_s"].default
    for grace in (settings_default, common.SHUTDOWN_GRACE_S):
        budget = grace + common.HTTP_DRAIN_S + common.TASKS_DRAIN_S
        assert common.termination_grace_seconds(grace) > budget
    assert compose.termination_grace_seconds() == common.termination_grace_seconds()


def test_crd_conversion_is_strict_and_keeps_int_or_string(tmp_path: Path) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "spec": {
            "group": "example.io",
            "names": {"kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {
                                        "size": {"x-kubernetes-int-or-string": True},
                                        "free": {
                                            "type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True,
                                            "properties": {"a": {"type": "string"}},
                                        },
                                        "note": {"type": "string", "nullable": True},
                                    },
                                }
                            },
                        }
                    },
                },
                {"name": "v0", "served": False},
            ],
        },
    }
    source = tmp_path / "crd.yaml"
    source.write_text(yaml.safe_dump(crd))
    (written,) = crdschema.convert([source], tmp_path / "out")
    assert written == tmp_path / "out/example.io/widget_v1.json"
    schema = json.loads(written.read_text())
    spec = schema["properties"]["spec"]
    assert spec["additionalProperties"] is False
    assert spec["properties"]["size"] == {"oneOf": [{"type": "integer"}, {"type": "string"}]}
    assert "additionalProperties" not in spec["properties"]["free"]
    assert spec["properties"]["note"]["type"] == ["string", "null"]
    assert schema["properties"]["kind"]["enum"] == ["Widget"]
    assert schema["properties"]["apiVersion"]["enum"] == ["example.io/v1"]
