"""The chart and the kustomize base, checked offline: lint, render, schema-validate, compare with the CRD."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from crd_validation import REPO, admit

CHART = REPO / "helm" / "soroka"
KUBE_VERSION = "1.30.0"
NON_DEFAULT = [
    "--set", "operator.replicas=2",
    "--set", "redis.enabled=false",
    "--set", "postgres.enabled=false",
    "--set", "external.redisUrl=redis://redis.shared:6379/3",
    "--set", "external.databaseUrlSecretRef.name=pg",
    "--set", "external.databaseUrlSecretRef.key=url",
    "--set", "serviceMonitor.enabled=true",
    "--set", "exampleStrategy.enabled=true",
    "--set-json", "exampleStrategy.spec={\"filter\": {\"confidenceMin\": 0.5}}",
    "--set", "image.tag=0.2.0",
]  # fmt: skip


@functools.cache
def tools() -> Path:
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "k8s-tools.py")], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip())


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tools() / args[0]), *args[1:]], capture_output=True, text=True, timeout=60)


def template(*extra: str) -> list[dict[str, Any]]:
    out = run("helm", "template", "soroka", str(CHART), "--namespace", "soroka", "--include-crds",
              "--kube-version", KUBE_VERSION, *extra)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def test_helm_lint_strict_passes_and_enforces_the_values_schema() -> None:
    ok = run("helm", "lint", "--strict", str(CHART))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = run("helm", "lint", "--strict", str(CHART), "--set", "operator.replicas=-1")
    assert bad.returncode != 0 and "replicas" in (bad.stdout + bad.stderr)


def test_values_yaml_matches_values_schema() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    jsonschema.validate(yaml.safe_load((CHART / "values.yaml").read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"image": {"repository": "x"}, "unknown": 1}, schema)


@pytest.mark.parametrize("extra", [[], NON_DEFAULT], ids=["defaults", "non-defaults"])
def test_rendered_builtin_objects_pass_strict_kubernetes_schemas(extra: list[str]) -> None:
    docs = template(*extra)
    builtin = [d for d in docs if d["apiVersion"].split("/")[0] in ("v1", "apps", "rbac.authorization.k8s.io",
                                                                    "apiextensions.k8s.io")]  # fmt: skip
    assert len(builtin) >= 8
    for doc in builtin:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    for doc in docs:
        spec = doc.get("spec", {}).get("template", {}).get("spec")
        if spec:  # every workload: non-root, read-only root filesystem, no capabilities
            assert spec["securityContext"]["runAsNonRoot"] is True
            for c in spec["containers"]:
                sc = c["securityContext"]
                assert sc["readOnlyRootFilesystem"] and sc["capabilities"] == {"drop": ["ALL"]}, doc[
                    "metadata"
                ]


def test_default_install_has_operator_stores_dashboard_and_chart_crds_match_generated() -> None:
    docs = template()
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert {("Deployment", "soroka-operator"), ("StatefulSet", "redis"), ("StatefulSet", "postgres")} <= kinds
    assert ("ClusterKopfPeering", "soroka") in kinds
    assert not any(k == "ServiceMonitor" or k == "Strategy" for k, _ in kinds)
    generated = yaml.safe_load((REPO / "crds" / "strategies.soroka.io.yaml").read_text())
    assert next(d for d in docs if d["metadata"]["name"] == "strategies.soroka.io") == generated
    dash = next(d for d in docs if d["kind"] == "ConfigMap" and "dashboard" in d["metadata"]["name"])
    assert dash["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads(dash["data"]["soroka.json"])
    assert board["panels"] and all(p["targets"][0]["expr"] for p in board["panels"])
    for sts in (d for d in docs if d["kind"] == "StatefulSet"):
        assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]


def test_non_default_install_wires_external_stores_two_operators_and_an_admissible_example() -> None:
    docs = template(*NON_DEFAULT)
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert not any(k == "StatefulSet" for k, _ in kinds)
    operator = next(d for d in docs if d["kind"] == "Deployment")
    assert operator["spec"]["replicas"] == 2
    assert "--peering" in operator["spec"]["template"]["spec"]["containers"][0]["command"]
    assert ("ServiceMonitor", "soroka-strategies") in kinds
    strategy = next(d for d in docs if d["kind"] == "Strategy")
    stored = admit(strategy)
    assert stored["spec"]["connection"]["redisUrl"] == "redis://redis.shared:6379/3"
    assert stored["spec"]["connection"]["databaseUrlSecretRef"] == {"name": "pg", "key": "url"}
    assert stored["spec"]["image"]["tag"] == "0.2.0" and stored["spec"]["filter"]["confidenceMin"] == 0.5


def _rules(docs: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (g, r, v)
        for d in docs
        if d["kind"] == "ClusterRole"
        for rule in d["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }


def test_kustomize_base_renders_and_grants_what_the_chart_grants() -> None:
    out = run("kubectl", "kustomize", str(REPO / "k8s"))
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    kinds = {d["kind"] for d in docs}
    assert {"CustomResourceDefinition", "Deployment", "ClusterRole", "StatefulSet", "Namespace"} <= kinds
    assert _rules(docs) == _rules(template())
    for doc in docs:
        if doc["apiVersion"].split("/")[0] in ("v1", "apps", "rbac.authorization.k8s.io"):
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    examples = run("kubectl", "kustomize", str(REPO / "k8s" / "examples"))
    assert examples.returncode == 0, examples.stderr
    for strategy in yaml.safe_load_all(examples.stdout):
        admit(strategy)
