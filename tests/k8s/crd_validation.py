"""Offline stand-in for the API server's CR validation: structural schema → JSON Schema, defaults, CEL."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[2]
CRD_PATH = REPO / "crds" / "strategies.soroka.io.yaml"


def load_crd() -> dict[str, Any]:
    crd: dict[str, Any] = yaml.safe_load(CRD_PATH.read_text())
    return crd


def openapi(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def to_json_schema(node: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI v3 structural schema → JSON Schema that rejects unknown fields (strict field validation)."""
    out = {k: v for k, v in node.items() if not k.startswith("x-kubernetes-")}
    for key, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if out.get(key) is True:
            out[key] = out.pop(flag)
        elif out.get(key) is False:
            out.pop(key)
    if "properties" in out:
        out["properties"] = {k: to_json_schema(v) for k, v in out["properties"].items()}
        if "additionalProperties" not in out and not node.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = to_json_schema(out["additionalProperties"])
    if "items" in out:
        out["items"] = to_json_schema(out["items"])
    if "anyOf" in out:
        out["anyOf"] = [to_json_schema(b) for b in out["anyOf"]]
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if out.get("type") == "object" and node.get("x-kubernetes-preserve-unknown-fields"):
        out.pop("additionalProperties", None)
    out.pop("format", None)
    return out


def apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    """Fill absent fields with their defaults, recursively, as the API server does before validation."""
    if not isinstance(value, dict) or "properties" not in schema:
        return value
    out = dict(value)
    for key, sub in schema["properties"].items():
        if key not in out and "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
        if key in out:
            out[key] = apply_defaults(sub, out[key])
    return out


def cel_rules(schema: dict[str, Any], value: Any, path: str = "") -> list[str]:
    """Messages of the failing x-kubernetes-validations rules (evaluated with cel-python)."""
    failures: list[str] = []
    env = celpy.Environment()
    for rule in schema.get("x-kubernetes-validations", []):
        program = env.program(env.compile(rule["rule"]))
        if not program.evaluate({"self": celpy.json_to_cel(value)}):
            failures.append(f"{path}: {rule['message']}")
    if isinstance(value, dict):
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                failures += cel_rules(sub, value[key], f"{path}.{key}")
    return failures


def admit(obj: dict[str, Any], crd: dict[str, Any] | None = None) -> dict[str, Any]:
    """Default, validate and run CEL on a Strategy like the API server; returns the stored object.

    Raises jsonschema.ValidationError or ValueError (CEL) when the server would reject it.
    """
    schema = openapi(crd or load_crd())
    stored = apply_defaults(schema, obj)
    jsonschema.validate(stored, to_json_schema(schema))
    failures = cel_rules(schema, stored)
    if failures:
        raise ValueError("; ".join(failures))
    return stored
