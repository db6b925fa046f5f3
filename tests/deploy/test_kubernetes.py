"""The rendered overlays: schema-valid (Kubernetes and the operators' CRDs), clean
under checkov, and complete for every service and topic the code declares."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.catalog import SERVICES, database_services, load_spec
from deploy.manifests import common, database
from deploy.manifests.config import kafka_user_name
from deploy.manifests.kafka import REPLICATION
from deploy.manifests.model import load_services
from shared.kafka.acls import READERS, kafka_user
from shared.kafka.topics import TOPICS
from tests.support.deploy import OVERLAYS, ROOT, Rendered, Tools

pytestmark = pytest.mark.parametrize("overlay", OVERLAYS)


def _kubeconform(tools: Tools, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*tools.kubeconform_cmd(), str(path)], capture_output=True, text=True, timeout=120
    )


def test_every_object_is_valid_against_kubernetes_and_crd_schemas(
    overlay: str, tools: Tools, rendered: dict[str, Rendered]
) -> None:
    proc = _kubeconform(tools, rendered[overlay].path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = re.search(r"Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)", proc.stdout)
    assert summary is not None, proc.stdout
    assert int(summary.group(1)) == len(rendered[overlay].objects), proc.stdout


@pytest.mark.parametrize(
    ("kind", "breakage"),
    [
        ("Deployment", lambda o: o["spec"]["template"]["spec"].update(terminationGracePeriod=1)),
        ("KafkaTopic", lambda o: o["spec"].update(partitions="six")),
        ("Cluster", lambda o: o["spec"]["managed"]["roles"][0].update(passwordSecrets={})),
        ("PrometheusRule", lambda o: o["spec"]["groups"][0]["rules"][0].pop("expr")),
    ],
)
def test_validation_rejects_a_broken_object(
    overlay: str,
    kind: str,
    breakage: Any,
    tools: Tools,
    rendered: dict[str, Rendered],
    tmp_path: Path,
) -> None:
    obj = yaml.safe_load(yaml.safe_dump(rendered[overlay].of_kind(kind)[0]))
    breakage(obj)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(obj))
    proc = _kubeconform(tools, path)
    assert proc.returncode != 0 and "Invalid: 1" in proc.stdout, proc.stdout


def test_checkov_finds_nothing_beyond_the_documented_skips(
    overlay: str, tools: Tools, rendered: dict[str, Rendered]
) -> None:
    proc = subprocess.run(
        [
            tools.checkov,
            "--config-file",
            str(ROOT / "k8s/.checkov.yaml"),
            "-f",
            str(rendered[overlay].path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Passed checks" in proc.stdout, proc.stdout


def test_every_service_has_its_objects(overlay: str, rendered: dict[str, Rendered]) -> None:
    r = rendered[overlay]
    for name in SERVICES:
        full = f"printcloud-{name}"
        for kind in (
            "Deployment",
            "Service",
            "ServiceAccount",
            "PodDisruptionBudget",
            "NetworkPolicy",
        ):
            assert r.get(kind, full) is not None, f"{overlay}: no {kind} {full}"
        hpa = r.get("HorizontalPodAutoscaler", full)
        scaled = r.get("ScaledObject", full)
        assert (hpa is None) != (scaled is None), f"{overlay}: {full} needs exactly one autoscaler"
        target = (hpa or scaled)["spec"]["scaleTargetRef"]  # type: ignore[index]
        assert target["name"] == full and target.get("kind", "Deployment") == "Deployment"
        sa = r.get("ServiceAccount", full)
        assert sa is not None and sa["automountServiceAccountToken"] is False


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _config_value(r: Rendered, container: dict[str, Any], var: str) -> str | None:
    for ref in container.get("envFrom", []):
        cm = r.get("ConfigMap", ref["configMapRef"]["name"])
        assert cm is not None, f"envFrom names a missing ConfigMap {ref}"
        if var in cm["data"]:
            return str(cm["data"][var])
    return None


def test_probes_point_at_health_endpoints_on_the_listening_port(
    overlay: str, rendered: dict[str, Rendered]
) -> None:
    r = rendered[overlay]
    for name in SERVICES:
        spec = load_spec(name)
        info = next(s for s in load_services() if s.name == name)
        deployment = r.get("Deployment", f"printcloud-{name}")
        assert deployment is not None
        container = _container(deployment)
        configured = _config_value(r, container, info.env("http_port"))
        listens = (
            int(configured) if configured else spec.settings_cls.model_fields["http_port"].default
        )
        host = _config_value(r, container, info.env("http_host"))
        assert host == "0.0.0.0", f"{name} must listen on all interfaces in a pod"
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        for probe, path in (
            ("readinessProbe", "/readyz"),
            ("livenessProbe", "/healthz"),
            ("startupProbe", "/healthz"),
        ):
            get = container[probe]["httpGet"]
            assert get["path"] == path, f"{name} {probe}"
            port = ports[get["port"]] if isinstance(get["port"], str) else get["port"]
            assert port == listens, (
                f"{name} {probe} probes {port}, the service listens on {listens}"
            )
        service = r.get("Service", f"printcloud-{name}")
        assert service is not None
        target = service["spec"]["ports"][0]["targetPort"]
        assert (ports[target] if isinstance(target, str) else target) == listens


def test_pods_are_hardened_and_shut_down_within_their_grace(
    overlay: str, rendered: dict[str, Rendered]
) -> None:
    r = rendered[overlay]
    for workload in [*r.of_kind("Deployment"), *r.of_kind("Job")]:
        pod = workload["spec"]["template"]["spec"]
        name = workload["metadata"]["name"]
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        tmp_volumes = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for c in [*pod.get("initContainers", []), *pod["containers"]]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, (name, c["name"])
            assert sc["allowPrivilegeEscalation"] is False, (name, c["name"])
            assert sc["capabilities"]["drop"] == ["ALL"], (name, c["name"])
            assert sc["seccompProfile"]["type"] == "RuntimeDefault", (name, c["name"])
            assert {"requests", "limits"} <= set(c["resources"]), (name, c["name"])
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert mounts.get("/tmp") in tmp_volumes, (name, c["name"])
    for deployment in r.of_kind("Deployment"):
        container = _container(deployment)
        prefix = next(
            info.env_prefix
            for s in load_services()
            for info in (s, *s.workers)
            if f"printcloud-{info.name}" == deployment["metadata"]["name"]
        )
        grace = float(_config_value(r, container, prefix + "SHUTDOWN_GRACE_S") or 2.0)
        budget = grace + common.HTTP_DRAIN_S + common.TASKS_DRAIN_S
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > budget


def test_configuration_comes_from_configmaps_and_secrets_by_reference(
    overlay: str, rendered: dict[str, Rendered]
) -> None:
    r = rendered[overlay]
    assert not r.of_kind("Secret"), "Secrets are created by the operator, never committed"
    composed = re.compile(r"^[a-z]+://(\$\([A-Z_]+\)|[:@/])+$")
    for workload in [*r.of_kind("Deployment"), *r.of_kind("Job")]:
        pod = workload["spec"]["template"]["spec"]
        for c in [*pod.get("initContainers", []), *pod["containers"]]:
            defined: set[str] = set()
            for ref in c.get("envFrom", []):
                assert set(ref) == {"configMapRef"}, ref
            for var in c.get("env", []):
                if "valueFrom" in var:
                    (source,) = var["valueFrom"]
                    assert source in ("configMapKeyRef", "secretKeyRef"), var
                else:
                    # Only a DSN composed of earlier variables, never a literal value.
                    assert composed.match(var["value"]), var
                    used = set(re.findall(r"\$\(([A-Z_]+)\)", var["value"]))
                    assert used <= defined, f"{var['name']} uses {used - defined} before definition"
                defined.add(var["name"])


def test_network_policies_deny_by_default_and_open_only_what_services_need(
    overlay: str, rendered: dict[str, Rendered]
) -> None:
    r = rendered[overlay]
    deny = r.get("NetworkPolicy", "printcloud-default-deny")
    assert deny is not None
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]
    for name in SERVICES:
        deployment = r.get("Deployment", f"printcloud-{name}")
        assert deployment is not None
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = deny["spec"]["podSelector"]["matchLabels"]
        assert selector.items() <= labels.items(), f"default deny must select {name}"
        policy = r.get("NetworkPolicy", f"printcloud-{name}")
        assert policy is not None
        egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
        needs_pg = load_spec(name).has_database
        database_port = {common.PG_PORT} if needs_pg else set()
        assert egress_ports == {53, common.KAFKA_PORT, "http"} | database_port
        sources = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
        namespaces = {
            p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            for p in sources
            if "namespaceSelector" in p
        }
        assert namespaces == {common.INGRESS_CONTROLLER_NAMESPACE, common.MONITORING_NAMESPACE}


def test_every_topic_has_a_kafka_topic_with_the_table_configuration(
    overlay: str, rendered: dict[str, Rendered]
) -> None:
    r = rendered[overlay]
    replication = REPLICATION[overlay]
    by_topic = {o["spec"]["topicName"]: o for o in r.of_kind("KafkaTopic")}
    assert set(by_topic) == {t.name for t in TOPICS}
    for t in TOPICS:
        spec = by_topic[t.name]["spec"]
        assert spec["partitions"] == t.partitions, t.name
        assert spec["replicas"] == replication, t.name
        assert {k: str(v) for k, v in spec["config"].items()} == t.config(replication), t.name
        assert by_topic[t.name]["metadata"]["labels"]["strimzi.io/cluster"] == common.KAFKA_CLUSTER
    nodes = sum(
        p["spec"]["replicas"] for p in r.of_kind("KafkaNodePool") if "broker" in p["spec"]["roles"]
    )
    assert nodes >= replication, "more topic replicas than brokers"


def test_ingress_routes_every_api_prefix_to_its_service(
    overlay: str, rendered: dict[str, Rendered]
) -> None:
    r = rendered[overlay]
    routes: dict[tuple[str, str], str] = {}
    for ingress in r.of_kind("Ingress"):
        for rule in ingress["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                routes[ingress["metadata"]["name"], p["path"]] = p["backend"]["service"]["name"]
    api = sorted(
        (
            (path, backend)
            for (name, path), backend in routes.items()
            if name.startswith("printcloud-api")
        ),
        key=lambda pb: -len(pb[0]),
    )  # ingress-nginx with use-regex: longest first, anchored at the start

    def api_backend(path: str) -> str | None:
        return next((b for p, b in api if re.match("^" + p, path, re.IGNORECASE)), None)

    for info in load_services():
        if info.name == common.GATEWAY_SERVICE:
            for prefix in info.api_prefixes:
                assert routes.get(("printcloud-gateway", prefix)) == "printcloud-gateway"
            continue
        for route in info.routes:
            path = re.sub(r"\{[^{}]+\}", "x", route)
            assert api_backend(path) == f"printcloud-{info.name}", (
                f"{route} not routed to {info.name} by the API ingress"
            )


def test_migrations_job_provisions_and_migrates_every_service(
    overlay: str, rendered: dict[str, Rendered]
) -> None:
    job = rendered[overlay].get("Job", "printcloud-migrate")
    assert job is not None
    pod = job["spec"]["template"]["spec"]
    databases = database_services()
    assert databases and "gateway" not in databases
    assert pod["initContainers"][0]["args"] == ["db", "provision", *databases]
    assert pod["containers"][0]["args"] == ["migrate", *databases]
    env = {v["name"] for v in pod["containers"][0]["env"]}
    for info in load_services():
        assert (info.env("database_url") in env) == info.has_database
    cluster = rendered[overlay].get("Cluster", common.PG_CLUSTER)
    assert cluster is not None
    roles = {role["name"]: role for role in cluster["spec"]["managed"]["roles"]}
    assert set(roles) == set(databases)
    for name, role in roles.items():
        assert role["passwordSecret"]["name"] == database.db_secret(name)
        assert role["superuser"] is False and role["login"] is True
    for name in SERVICES:
        deployment = rendered[overlay].get("Deployment", f"printcloud-{name}")
        assert deployment is not None
        inits = deployment["spec"]["template"]["spec"]["initContainers"]
        if name in databases:
            (init,) = inits
            assert init["args"][:2] == ["migrate-check", name]
        else:
            assert inits == [], f"{name} has no database to wait for"


def test_alerts_name_a_runbook_section_that_exists(
    overlay: str, rendered: dict[str, Rendered]
) -> None:
    doc = (ROOT / "docs/operations.md").read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", doc, flags=re.M)
    }
    rules = [
        rule
        for pr in rendered[overlay].of_kind("PrometheusRule")
        for g in pr["spec"]["groups"]
        for rule in g["rules"]
    ]
    assert rules
    for rule in rules:
        target = rule["annotations"]["runbook"]
        assert target.startswith("docs/operations.md#"), rule["alert"]
        assert target.split("#", 1)[1] in anchors, f"{rule['alert']}: no section {target}"


def _env_value(r: Rendered, container: dict[str, Any], var: str) -> str | None:
    """A variable's value: literal, from a ConfigMap key, or from an envFrom ConfigMap."""
    for item in container.get("env", []):
        if item["name"] != var:
            continue
        if "value" in item:
            return str(item["value"])
        ref = item["valueFrom"].get("configMapKeyRef")
        assert ref is not None, f"{var} comes from a Secret"
        cm = r.get("ConfigMap", ref["name"])
        assert cm is not None, f"{var} names a missing ConfigMap {ref['name']}"
        return str(cm["data"][ref["key"]])
    return _config_value(r, container, var)


def test_every_worker_runs_its_module_with_a_writable_data_dir_and_probes(
    overlay: str, rendered: dict[str, Rendered]
) -> None:
    r = rendered[overlay]
    workers = [
        (name, w_name, w) for name in SERVICES for w_name, w in load_spec(name).workers.items()
    ]
    assert workers, "the counters' roll-up worker is declared"
    kafka = r.of_kind("Kafka")[0]
    peers = [
        p["podSelector"]["matchLabels"]
        for listener in kafka["spec"]["kafka"]["listeners"]
        for p in listener.get("networkPolicyPeers", [])
        if "podSelector" in p
    ]
    for service, w_name, w in workers:
        full = f"printcloud-{service}-{w_name}"
        for kind in ("Deployment", "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy"):
            assert r.get(kind, full) is not None, f"{overlay}: no {kind} {full}"
        assert r.get("Service", full) is None, "a worker serves no API"
        deployment = r.get("Deployment", full)
        assert deployment is not None
        container = _container(deployment)
        assert container["command"] == ["python", "-m", w.module]
        assert container["args"] == list(w.args)
        info = next(s for s in load_services() if s.name == service)
        assert _env_value(r, container, info.env("kafka_bootstrap")) == common.KAFKA_BOOTSTRAP
        if w.replication_field:
            replication = _env_value(r, container, info.env(w.replication_field))
            assert replication == str(REPLICATION[overlay])
        pod = deployment["spec"]["template"]["spec"]
        if w.data_dir_field:
            data_dir = _env_value(r, container, info.env(w.data_dir_field))
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            volumes = {v["name"]: v for v in pod["volumes"]}
            assert data_dir in mounts and "emptyDir" in volumes[mounts[data_dir]], data_dir
        if w.metrics_port_field:
            port = int(_env_value(r, container, info.env(w.metrics_port_field)) or 0)
            assert _env_value(r, container, info.env("http_host")) == "0.0.0.0"
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports["metrics"] == port
            for probe in ("startupProbe", "livenessProbe"):
                assert container[probe]["httpGet"] == {"path": "/metrics", "port": "metrics"}
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(p.items() <= labels.items() for p in peers), f"Kafka must admit {full}"
        policy = r.get("NetworkPolicy", full)
        assert policy is not None
        egress = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
        assert egress == {53, common.KAFKA_PORT} | ({common.PG_PORT} if w.uses_database else set())


def test_queues_replicas_share_one_document_store_and_know_the_public_url(
    overlay: str, rendered: dict[str, Rendered]
) -> None:
    r = rendered[overlay]
    info = next(s for s in load_services() if s.name == "queues")
    deployment = r.get("Deployment", "printcloud-queues")
    assert deployment is not None
    container = _container(deployment)
    blob_dir = _env_value(r, container, info.env("blob_dir"))
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert blob_dir in mounts, "the document store is on the shared volume"
    claim_name = volumes[mounts[blob_dir]]["persistentVolumeClaim"]["claimName"]
    claim = r.get("PersistentVolumeClaim", claim_name)
    assert claim is not None
    if overlay == "prod":
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
        assert claim["spec"]["storageClassName"], "prod names a ReadWriteMany storage class"
    hosts = {
        rule["host"]
        for ingress in r.of_kind("Ingress")
        if ingress["metadata"]["name"].startswith("printcloud-api")
        for rule in ingress["spec"]["rules"]
    }
    (host,) = hosts
    for s in load_services():
        if "public_url" not in s.settings_fields or s.name == common.GATEWAY_SERVICE:
            continue
        d = r.get("Deployment", f"printcloud-{s.name}")
        assert d is not None
        public = _env_value(r, _container(d), s.env("public_url"))
        assert public == f"https://{host}", (s.name, public, host)


def test_kafka_admits_only_its_users_each_with_the_local_tables_acls(
    overlay: str, rendered: dict[str, Rendered]
) -> None:
    r = rendered[overlay]
    kafka = r.get("Kafka", common.KAFKA_CLUSTER)
    assert kafka is not None
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    for listener in kafka["spec"]["kafka"]["listeners"]:
        assert listener["tls"] is True, listener["name"]
        assert listener["authentication"]["type"] == "scram-sha-512", listener["name"]
    users = {o["metadata"]["name"]: o for o in r.of_kind("KafkaUser")}
    names = [*SERVICES, *READERS]
    assert set(users) == {kafka_user_name(n) for n in names}
    for name in names:
        spec = users[kafka_user_name(name)]["spec"]
        assert spec["authentication"] == {"type": "scram-sha-512"}
        rules = {
            (a["resource"]["type"], a["resource"].get("name"), a["resource"].get("patternType"), op)
            for a in spec["authorization"]["acls"]
            for op in a["operations"]
        }
        local = {
            (a.resource, a.name, "prefix" if a.prefixed else "literal", a.operation)
            for a in kafka_user(name).acls()
        }
        assert rules == local, name


def test_every_kafka_client_connects_as_its_own_services_user(
    overlay: str, rendered: dict[str, Rendered]
) -> None:
    r = rendered[overlay]
    services = {s.env_prefix: s.name for s in load_services()}
    clients = 0
    for deployment in r.of_kind("Deployment"):
        container = _container(deployment)
        env = {v["name"]: v for v in container.get("env", [])}
        for prefix, service in services.items():
            if f"{prefix}KAFKA_BOOTSTRAP" not in env:
                continue
            clients += 1
            user = kafka_user_name(service)
            assert _env_value(r, container, f"{prefix}KAFKA_USERNAME") == user
            password = env[f"{prefix}KAFKA_PASSWORD"]["valueFrom"]
            assert password == {"secretKeyRef": {"name": user, "key": "password"}}
            ca_file = _env_value(r, container, f"{prefix}KAFKA_CA_FILE")
            assert ca_file is not None
            volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
            mount = next(
                m for m in container["volumeMounts"] if ca_file.startswith(m["mountPath"] + "/")
            )
            assert volumes[mount["name"]]["secret"]["secretName"] == common.KAFKA_CA_SECRET
    assert clients >= len(SERVICES)


def test_keda_reads_consumer_lag_as_the_services_own_kafka_user(
    overlay: str, rendered: dict[str, Rendered]
) -> None:
    r = rendered[overlay]
    for scaled in r.of_kind("ScaledObject"):
        service = scaled["metadata"]["name"].removeprefix("printcloud-")
        kafka = [t for t in scaled["spec"]["triggers"] if t["type"] == "kafka"]
        for trigger in kafka:
            assert trigger["metadata"]["bootstrapServers"] == common.KAFKA_BOOTSTRAP
            assert (trigger["metadata"]["sasl"], trigger["metadata"]["tls"]) == (
                "scram_sha512",
                "enable",
            )
            auth = r.get("TriggerAuthentication", trigger["authenticationRef"]["name"])
            assert auth is not None
            secrets = {ref["parameter"]: ref for ref in auth["spec"]["secretTargetRef"]}
            assert secrets["password"]["name"] == kafka_user_name(service)
            assert secrets["ca"]["name"] == common.KAFKA_CA_SECRET
            (username,) = auth["spec"]["env"]
            assert username["parameter"] == "username"
            assert username["name"].endswith("_KAFKA_USERNAME")
