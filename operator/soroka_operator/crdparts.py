"""The hand-written parts of the CRD: workload groups, status, CEL rules, printer columns, kopf peering.

These describe Kubernetes things (replicas, images, resources) that no service setting covers;
the settings-derived groups come from `crdgen`.
"""

from __future__ import annotations

from typing import Any

DEFAULT_IMAGE = {"repository": "soroka", "tag": "0.1.0", "pullPolicy": "IfNotPresent"}

_QUANTITY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {
        "x-kubernetes-int-or-string": True,
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "pattern": r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$",
    },
}
RESOURCES: dict[str, Any] = {
    "type": "object",
    "description": "Container resources (requests/limits), as in a Pod spec.",
    "properties": {"requests": _QUANTITY, "limits": _QUANTITY},
}
_SECRET_REF: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 253, "description": "Secret name."},
        "key": {"type": "string", "minLength": 1, "description": "Key in the Secret."},
    },
}


def secret_ref(description: str, default_key: str) -> dict[str, Any]:
    props = {**_SECRET_REF["properties"], "key": {**_SECRET_REF["properties"]["key"], "default": default_key}}
    return {**_SECRET_REF, "properties": props, "description": description}


def add_workload_groups(spec: dict[str, Any]) -> None:
    """Add the groups that shape the workloads (not settings) and the secret references."""
    props = spec["properties"]
    props["outputs"]["properties"]["telegram"]["properties"]["tokenSecretRef"] = secret_ref(
        "Secret holding the bot token; mounted as a file, never copied into a ConfigMap.", "token"
    )
    props["connection"]["properties"]["databaseUrlSecretRef"] = secret_ref(
        "Secret holding DATABASE_URL (wins over databaseUrl; use it when the URL has a password).", "url"
    )
    props["analyzers"] = {
        "type": "object",
        "default": {},
        "description": "The analyzer Deployment (a consumer group: scale it out).",
        "properties": {
            "replicas": {"type": "integer", "minimum": 0, "maximum": 100, "default": 1},
            "resources": RESOURCES,
        },
    }
    props["resources"] = {**RESOURCES, "description": "Resources of the other services' containers."}
    props["trader"] = {
        "type": "object",
        "default": {},
        "description": "The optional paper-trading bot.",
        "properties": {"enabled": {"type": "boolean", "default": False}},
    }
    props["image"] = {
        "type": "object",
        "default": {},
        "description": "The soroka image every service runs.",
        "properties": {
            "repository": {"type": "string", "minLength": 1, "default": DEFAULT_IMAGE["repository"]},
            "tag": {"type": "string", "minLength": 1, "default": DEFAULT_IMAGE["tag"]},
            "pullPolicy": {
                "type": "string",
                "enum": ["Always", "IfNotPresent", "Never"],
                "default": DEFAULT_IMAGE["pullPolicy"],
            },
        },
    }


# Only standard CEL: these also run offline with cel-python in the tests.
VALIDATIONS: list[dict[str, str]] = [
    {
        "rule": "self.filter.confidenceMin <= self.filter.confidenceMax",
        "message": "filter.confidenceMin must be <= filter.confidenceMax",
        "fieldPath": ".filter.confidenceMin",
    },
    {
        "rule": "2 * self.detector.lookback + 1 <= self.detector.candleWindow",
        "message": "detector.candleWindow must hold a whole swing (2 * lookback + 1 candles)",
        "fieldPath": ".detector.candleWindow",
    },
    {
        "rule": "self.outputs.telegram.chatId == '' || has(self.outputs.telegram.tokenSecretRef)",
        "message": "outputs.telegram.chatId needs outputs.telegram.tokenSecretRef",
        "fieldPath": ".outputs.telegram.tokenSecretRef",
    },
]

_CONDITION: dict[str, Any] = {
    "type": "object",
    "required": ["type", "status"],
    "properties": {
        "type": {"type": "string"},
        "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
        "reason": {"type": "string"},
        "message": {"type": "string"},
        "observedGeneration": {"type": "integer"},
        "lastTransitionTime": {"type": "string", "format": "date-time"},
    },
}
STATUS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "observedGeneration": {"type": "integer"},
        "conditions": {
            "type": "array",
            "items": _CONDITION,
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
        },
        "children": {
            "type": "object",
            "description": "Names of the objects this Strategy manages.",
            "properties": {
                kind: {"type": "array", "items": {"type": "string"}}
                for kind in ("configMaps", "deployments", "services")
            },
        },
        "analyzers": {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer"},
                "readyReplicas": {"type": "integer"},
                "selector": {"type": "string"},
            },
        },
        "kopf": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}

PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Filter", "type": "string", "jsonPath": ".spec.filter.eventFilterType"},
    {"name": "ConfMin", "type": "number", "jsonPath": ".spec.filter.confidenceMin"},
    {"name": "ConfMax", "type": "number", "jsonPath": ".spec.filter.confidenceMax"},
    {
        "name": "Analyzers",
        "type": "integer",
        "jsonPath": ".spec.analyzers.replicas",
        "description": "desired",
    },
    {"name": "Ready-Analyzers", "type": "integer", "jsonPath": ".status.analyzers.readyReplicas"},
    {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def peering_crds() -> list[dict[str, Any]]:
    """kopf's peering resources, so two operator replicas agree on who is active."""
    out = []
    for kind, scope in (("ClusterKopfPeering", "Cluster"), ("KopfPeering", "Namespaced")):
        plural = kind.lower() + "s"
        out.append(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"{plural}.kopf.dev"},
                "spec": {
                    "scope": scope,
                    "group": "kopf.dev",
                    "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
                    "versions": [
                        {
                            "name": "v1",
                            "served": True,
                            "storage": True,
                            "schema": {
                                "openAPIV3Schema": {
                                    "type": "object",
                                    "properties": {
                                        "status": {
                                            "type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True,
                                        }
                                    },
                                }
                            },
                        }
                    ],
                },
            }
        )
    return out
