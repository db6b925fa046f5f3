"""Component schemas of the OpenAPI document: the pydantic models the declared
operations take and answer, collected and turned into ``#/components/schemas``
entries (``models_json_schema``; a model changed in code changes the document),
and a query model as query parameters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from shared.http.operations import (
    Operation,
    Problem,
)

REF = "#/components/schemas/{model}"
JSON = "application/json"


def non_null(schema: Mapping[str, Any]) -> dict[str, Any]:
    """pydantic's ``anyOf [X, null]`` of an optional query parameter, as X."""
    branches = [b for b in schema.get("anyOf", ()) if b.get("type") != "null"]
    if len(branches) == 1:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "title")}
        return {**branches[0], **rest}
    return {k: v for k, v in schema.items() if k != "title"}


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    params = []
    for name, prop in schema["properties"].items():
        prop = non_null(prop)
        if "default" in prop and prop["default"] is None:
            del prop["default"]
        description = prop.pop("description", "")
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if description:
            param["description"] = description
        param["schema"] = prop
        params.append(param)
    return params


class Schemas:
    """Collects the models an operation set uses and makes their components."""

    def __init__(self) -> None:
        self.inputs: set[type[BaseModel]] = set()
        self.outputs: set[type[BaseModel]] = set()

    def add(self, model: type[BaseModel], mode: str) -> None:
        (self.inputs if mode == "validation" else self.outputs).add(model)

    def build(self) -> tuple[dict[tuple[type[BaseModel], str], dict[str, Any]], dict[str, Any]]:
        keys = [(m, "validation") for m in self.inputs] + [
            (m, "serialization") for m in self.outputs
        ]
        keys.sort(key=lambda k: (k[0].__module__, k[0].__qualname__, k[1]))
        refs, defs = models_json_schema(keys, ref_template=REF)  # type: ignore[arg-type]
        names: dict[str, type[BaseModel]] = {}
        for model, _ in keys:
            other = names.setdefault(model.__name__, model)
            if other is not model:
                raise ValueError(
                    f"two models are both named {model.__name__!r} ({other.__module__} and "
                    f"{model.__module__}): rename one, component names are global"
                )
        schemas = dict(sorted(defs.get("$defs", {}).items()))
        return dict(refs), schemas  # type: ignore[arg-type]


def models(ops: Iterable[Operation]) -> Schemas:
    schemas = Schemas()
    schemas.add(Problem, "serialization")
    for op in ops:
        if isinstance(op.body, type):
            schemas.add(op.body, "validation")
        for answer in op.responses.values():
            if isinstance(answer, type):
                schemas.add(answer, "serialization")
    return schemas
