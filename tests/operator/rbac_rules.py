"""The operator's RBAC in the chart versus the API calls it made against the emulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def helm() -> Path:
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "k8s-tools.py")], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip()) / "helm"


def chart_rules() -> set[tuple[str, str, str]]:
    """(group, resource, verb) granted to the operator by the chart's ClusterRole/Role objects."""
    rendered = subprocess.run(
        [str(helm()), "template", "soroka", str(REPO / "helm" / "soroka"), "--namespace", "soroka"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    granted: set[tuple[str, str, str]] = set()
    for doc in yaml.safe_load_all(rendered):
        if doc and doc.get("kind") in ("ClusterRole", "Role") and "operator" in doc["metadata"]["name"]:
            for rule in doc.get("rules", []):
                for group in rule["apiGroups"]:
                    for res in rule["resources"]:
                        for verb in rule["verbs"]:
                            granted.add((group, res, verb))
    return granted


def assert_rbac_matches(audit: list[tuple[str, str, str, str]]) -> None:
    """Every call the operator made is granted, and nothing is granted that it never used."""
    used = {(group, res, verb) for _agent, group, res, verb in audit}
    granted = chart_rules()
    assert used - granted == set(), f"calls the chart does not allow: {sorted(used - granted)}"
    assert granted - used == set(), f"granted but never used: {sorted(granted - used)}"
