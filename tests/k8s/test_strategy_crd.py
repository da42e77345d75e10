"""The Strategy CRD: generated from the settings, fresh, and it admits/rejects what the services would."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from crd_validation import REPO, admit, load_crd, openapi

from soroka.core.configuring import load_settings
from soroka.core.settings import PRODUCT_DEFAULTS, ConfigError, StrategySettings
from soroka_operator import crdgen
from soroka_operator.envfiles import strategy_env
from soroka_operator.fields import spec_fields

EXAMPLES = sorted((REPO / "k8s" / "examples").glob("strategy-*.yaml"))


def _strategy(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "soroka.io/v1alpha1", "kind": "Strategy", "metadata": {"name": "s"}, "spec": spec}


def test_committed_crd_files_match_the_settings_models(tmp_path: Path) -> None:
    assert crdgen.main(["--check"]) == 0
    (tmp_path / "crds").mkdir()
    (tmp_path / "crds" / "strategies.soroka.io.yaml").write_text("stale")
    assert crdgen.main(["--check", "--root", str(tmp_path)]) == 1


def test_every_spec_field_has_the_settings_default_and_camel_case_name() -> None:
    spec_schema = openapi(load_crd())["properties"]["spec"]
    for field in spec_fields():
        node = spec_schema
        for part in field.path:
            node = node["properties"][part]
        default = field.default.value if hasattr(field.default, "value") else field.default
        assert node["default"] == default, field.name
    names = {f.path[-1] for f in spec_fields()}
    assert {"confidenceMin", "bosStrengthThreshold", "minEventIntervalMinutes", "baseUrl", "chatId"} <= names


def test_an_empty_strategy_defaults_to_the_product_defaults() -> None:
    stored = admit(_strategy({}))
    env = strategy_env("s", stored["spec"])
    for key, value in PRODUCT_DEFAULTS.items():
        try:
            assert float(env[key]) == float(value), key
        except ValueError:
            assert env[key] == value, key
    assert stored["spec"]["analyzers"]["replicas"] == 1


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_strategies_are_admitted_and_build_valid_settings(path: Path) -> None:
    stored = admit(yaml.safe_load(path.read_text()))
    load_settings(StrategySettings, None, environ=strategy_env("s", stored["spec"]))


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ({"filter": {"confidenceMin": 1.5}}, "maximum"),
        ({"filter": {"eventFilterType": "SIDEWAYS"}}, "enum"),
        ({"filter": {"confidenceLow": 0.2}}, "unknown field"),
        ({"risk": {"stoplossPct": 1.0}}, "exclusive maximum"),
        ({"risk": {"allocationPct": 0}}, "exclusive minimum"),
        ({"outputs": {"tradeQueueName": "bad queue"}}, "pattern"),
        ({"universe": {"universeSize": "some"}}, "int or 'all'"),
        ({"universe": {"universeSize": 0}}, "positive"),
        ({"analyzers": {"replicas": -1}}, "replicas"),
        ({"image": {"pullPolicy": "Sometimes"}}, "pull policy"),
    ],
)
def test_schema_rejects_out_of_range_values(spec: dict[str, Any], why: str) -> None:
    with pytest.raises(jsonschema.ValidationError):
        admit(_strategy(spec))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"filter": {"confidenceMin": 0.9, "confidenceMax": 0.5}}, "confidenceMin must be <="),
        ({"detector": {"lookback": 50, "candleWindow": 60}}, "whole swing"),
        ({"outputs": {"telegram": {"chatId": "@x"}}}, "needs outputs.telegram.tokenSecretRef"),
    ],
)
def test_cel_rules_reject_inconsistent_strategies(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        admit(_strategy(spec))


def test_cel_accepts_equal_confidence_bounds_and_the_settings_agree() -> None:
    stored = admit(_strategy({"filter": {"confidenceMin": 0.6, "confidenceMax": 0.6}}))
    load_settings(StrategySettings, None, environ=strategy_env("s", stored["spec"]))
    bad = copy.deepcopy(stored["spec"])
    bad["filter"]["confidenceMin"] = 0.7
    with pytest.raises(ConfigError, match="CONFIDENCE_MIN"):
        load_settings(StrategySettings, None, environ=strategy_env("s", bad))


def test_crd_has_status_scale_and_printer_columns() -> None:
    version = load_crd()["spec"]["versions"][0]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    scale = version["subresources"]["scale"]
    assert scale["specReplicasPath"] == ".spec.analyzers.replicas"
    assert scale["statusReplicasPath"].startswith(".status.analyzers.")
    assert scale["labelSelectorPath"] == ".status.analyzers.selector"
    assert "status" in version["subresources"]
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Filter"] == ".spec.filter.eventFilterType"
    assert columns["Age"] == ".metadata.creationTimestamp"
    assert "Ready" in columns
