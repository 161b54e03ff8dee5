"""JSON Schema of the spec, for editors (YAML language servers read it).

The fixed sections come from the pydantic models; each registered component contributes
its own ``Params`` schema, selected by its name (``if name == X then X's params``).
"""

from __future__ import annotations

from typing import Any

from ..plugins import get_registry
from .schema import ModelSpec, TrainSpec
from .tune import tune_json_schema


def _params_schema(entry) -> dict[str, Any]:
    if entry.params is None:
        return {"type": "object", "properties": {}}
    s = entry.params.model_json_schema()
    s.pop("title", None)
    return s


def _component(kind: str, key: str = "name") -> dict[str, Any]:
    reg = get_registry()
    names = reg.names(kind)
    variants = []
    for n in names:
        ps = _params_schema(reg.entry(kind, n))
        props = dict(ps.get("properties", {}))
        props[key] = {"const": n}
        variants.append({"type": "object", "properties": props, "required": [key],
                         "additionalProperties": False, "$defs": ps.get("$defs", {}),
                         "description": reg.entry(kind, n).description})
    return {"anyOf": [{"type": "string", "enum": names}] + variants}


def spec_json_schema() -> dict[str, Any]:
    reg = get_registry()
    train = TrainSpec.model_json_schema()
    train["properties"]["optimizer"] = _component("optimizer")
    train["properties"]["scheduler"] = {"anyOf": [{"type": "null"}, _component("scheduler")]}
    model = ModelSpec.model_json_schema()
    model["properties"]["topology"] = {"type": "string", "enum": reg.names("topology")}
    model["properties"]["cell"] = _component("cell")
    model["additionalProperties"] = True  # topology parameters sit beside the generic keys
    data = {"type": "object", "properties": {"dataset": {"type": "string",
                                                         "enum": reg.names("dataset")}},
            "required": ["dataset"],
            "allOf": [{"if": {"properties": {"dataset": {"const": n}}},
                       "then": {"properties": {**_params_schema(reg.entry("dataset", n)).get("properties", {}),
                                               "dataset": {"const": n}},
                                "additionalProperties": False}}
                      for n in reg.names("dataset")]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "seqforge spec",
        "type": "object",
        "additionalProperties": False,
        # a spec that extends others may leave any section to its bases
        "if": {"required": ["extends"]},
        "else": {"required": ["data", "model", "task"]},
        "properties": {
            "extends": {"description": "base spec file(s), relative to this file; later "
                                       "ones and then this file win (a deep merge)",
                        "anyOf": [{"type": "string"},
                                  {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
            "name": {"type": "string", "pattern": r"^[A-Za-z0-9_.\-]+$"},
            "seed": {"type": "integer", "minimum": 0},
            "data": data,
            "model": model,
            "task": _component("task"),
            "train": train,
            "tune": tune_json_schema(),
        },
    }
