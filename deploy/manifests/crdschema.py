"""Convert CustomResourceDefinitions to JSON Schema files kubeconform can read.

Each served version of each CRD becomes ``<out>/<group>/<kind>_<version>.json``
(kind lower-cased), the layout of kubeconform's schema-location template
``{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json``.

The conversion follows what the API server enforces, made strict the way
kubeconform's ``-strict`` mode expects: an object that lists its ``properties``
accepts no other key unless it says ``x-kubernetes-preserve-unknown-fields`` or
already has ``additionalProperties``; ``x-kubernetes-int-or-string`` accepts an
integer or a string; ``nullable`` adds ``null`` to the type. ``apiVersion`` and
``kind`` are pinned to the resource's own values.

It also turns the Kubernetes schemas of the ``kubernetes-validate`` wheel into
files kubeconform resolves offline: they carry an ``$id`` under
https://kubernetes.io/api/ and refer to ``/api/_definitions.json``, which a
file-based loader cannot follow; :func:`localize_kubernetes` drops the ids and
makes the references relative to the directory.

    python -m deploy.manifests.crdschema --out DIR CRD.yaml [CRD.yaml ...]
    python -m deploy.manifests.crdschema --kubernetes SRC_DIR --out DST_DIR
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

Schema = dict[str, Any]


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: Schema = {k: _strict(v) for k, v in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        for key in ("type", "anyOf", "oneOf", "pattern", "format"):
            out.pop(key, None)
        out["oneOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    preserve = out.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def version_schemas(crd: Schema) -> Iterable[tuple[str, str, str, Schema]]:
    """(group, kind, version, JSON schema) for each served version of ``crd``."""
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        schema = (version.get("schema") or spec.get("validation") or {}).get("openAPIV3Schema")
        if schema is None:
            raise ValueError(f"{kind}.{group}/{version['name']}: no openAPIV3Schema")
        converted: Schema = _strict(schema)
        props = converted.setdefault("properties", {})
        props["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
        props["kind"] = {"type": "string", "enum": [kind]}
        props["metadata"] = {"type": "object"}
        converted.setdefault("required", [])
        for key in ("apiVersion", "kind"):
            if key not in converted["required"]:
                converted["required"].append(key)
        converted["$schema"] = "http://json-schema.org/draft-07/schema#"
        yield group, kind, version["name"], converted


def convert(paths: Iterable[Path], out: Path) -> list[Path]:
    """Write one JSON schema per served CRD version found in ``paths``."""
    written: list[Path] = []
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            for group, kind, version, schema in version_schemas(doc):
                target = out / group / f"{kind.lower()}_{version}.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
                written.append(target)
    if not written:
        raise SystemExit("no CustomResourceDefinition found")
    return written


def _relative_refs(node: Any) -> Any:
    if isinstance(node, list):
        return [_relative_refs(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _relative_refs(v) for k, v in node.items() if k != "$id"}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("/api/_definitions.json#"):
        out["$ref"] = ref[len("/api/") :]
    return out


def localize_kubernetes(src: Path, out: Path) -> int:
    """Copy one version directory of kubernetes-validate's schemas for offline use."""
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(src.glob("*.json")):
        schema = _relative_refs(json.loads(path.read_text()))
        (out / path.name).write_text(json.dumps(schema, separators=(",", ":")))
        count += 1
    if not count:
        raise SystemExit(f"no schemas in {src}")
    return count


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--kubernetes", type=Path, help="a kubernetes-validate version directory")
    parser.add_argument("crds", type=Path, nargs="*")
    args = parser.parse_args(argv)
    if args.kubernetes:
        print(f"{localize_kubernetes(args.kubernetes, args.out)} schemas in {args.out}")
    if args.crds:
        for path in convert(args.crds, args.out):
            print(path)


if __name__ == "__main__":
    main()
