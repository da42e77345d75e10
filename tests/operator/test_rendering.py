"""Rendering a Strategy: every key in the right service's .env, secrets mounted, labels, owners, replicas."""

from __future__ import annotations

import enum
import typing
from typing import Any

import pytest

from soroka.core.configuring import read_env_file
from soroka.core.settings import SERVICE_SETTINGS, ConfigError
from soroka_operator.envfiles import TOKEN_DIR, TOKEN_FILE
from soroka_operator.fields import OPERATOR_OWNED, SpecField, spec_fields
from soroka_operator.rendering import Owner, deployment, render

OWNER = Owner(name="alpha", namespace="trading", uid="1234-uid")
TELEGRAM = {"chatId": "@chan", "tokenSecretRef": {"name": "tg-secret", "key": "bot"}}


def _other_value(field: SpecField) -> Any:
    """A valid value different from the default, so its arrival can be traced."""
    info = field.model.model_fields[field.name]
    default = field.default
    args = typing.get_args(info.annotation)
    if isinstance(default, enum.Enum):
        return next(e.value for e in type(default) if e != default)
    if args and all(isinstance(a, str) for a in args):
        return next(a for a in args if a != default)
    if isinstance(default, bool):
        return not default
    if field.name == "universe_size":
        return 42
    if isinstance(default, int):
        bounds = {
            k: getattr(m, k) for m in info.metadata for k in ("le", "lt") if getattr(m, k, None) is not None
        }
        return default + 1 if default + 1 <= bounds.get("le", bounds.get("lt", 10**12) - 1) else default - 1
    if isinstance(default, float):
        upper = next(
            (getattr(m, k) for m in info.metadata for k in ("le", "lt") if getattr(m, k, None)), None
        )
        return (default + upper) / 2 if upper is not None else default + 1.5
    if field.name.endswith("url"):
        return {"redis_url": "redis://other:6379/1", "database_url": "postgresql://u@db:5432/x"}.get(
            field.name, "http://other.example:8080"
        )
    return {"quote_asset": "BUSD", "trade_queue_name": "other_queue", "telegram_chat_id": "@other"}[
        field.name
    ]


def _spec_with_every_field_changed() -> tuple[dict[str, Any], dict[str, str]]:
    spec: dict[str, Any] = {}
    expected: dict[str, str] = {}
    for field in spec_fields():
        value = _other_value(field)
        if field.name == "confidence_min":
            value = 0.5
        node = spec
        for part in field.path[:-1]:
            node = node.setdefault(part, {})
        node[field.path[-1]] = value
        expected[field.env_key] = str(value).lower() if isinstance(value, bool) else str(value)
    spec["outputs"]["telegram"]["tokenSecretRef"] = TELEGRAM["tokenSecretRef"]
    spec["trader"] = {"enabled": True}
    return spec, expected


def _env(children: Any, service: str) -> dict[str, str]:
    cm = next(c for c in children.config_maps if c["metadata"]["name"] == f"alpha-{service}")
    lines = cm["data"][f"{service}.env"].splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_every_strategy_key_lands_in_the_env_file_of_each_service_that_reads_it(tmp_path: Any) -> None:
    spec, expected = _spec_with_every_field_changed()
    children = render(OWNER, spec)
    seen: set[str] = set()
    for service, cls in SERVICE_SETTINGS.items():
        env = _env(children, service)
        keys = {n.upper() for n in cls.model_fields if n not in OPERATOR_OWNED}
        assert set(env) - {"STRATEGY_NAME", "HTTP_PORT", "TELEGRAM_TOKEN_FILE"} == keys, service
        for key in keys:
            assert env[key] == expected[key], (service, key)
        seen |= keys
        assert env["STRATEGY_NAME"] == "alpha" and env["HTTP_PORT"] == "8000"
        path = tmp_path / f"{service}.env"  # the services read these files back with the same parser
        cm = next(c for c in children.config_maps if c["metadata"]["name"] == f"alpha-{service}")
        path.write_text(cm["data"][f"{service}.env"])
        assert read_env_file(path) == env
    assert seen == set(expected), "a spec field reaches no service"


def test_telegram_token_is_mounted_from_the_secret_and_never_inlined() -> None:
    children = render(OWNER, {"outputs": {"telegram": TELEGRAM}})
    for cm in children.config_maps:
        text = "".join(cm["data"].values())
        assert "TELEGRAM_BOT_TOKEN" not in text and "tg-secret" not in text
    assert _env(children, "publish")["TELEGRAM_TOKEN_FILE"] == TOKEN_FILE
    for dep in children.deployments:
        pod = dep["spec"]["template"]["spec"]
        secrets = [v for v in pod["volumes"] if "secret" in v]
        if dep["metadata"]["name"] == "alpha-publish":
            assert secrets == [
                {
                    "name": "telegram-token",
                    "secret": {"secretName": "tg-secret", "items": [{"key": "bot", "path": "token"}]},
                }
            ]
            mounts = pod["containers"][0]["volumeMounts"]
            assert {"name": "telegram-token", "mountPath": TOKEN_DIR, "readOnly": True} in mounts
        else:
            assert secrets == []
        assert "env" not in pod["containers"][0]


def test_database_url_secret_ref_becomes_an_env_var_from_the_secret() -> None:
    spec = {"connection": {"databaseUrlSecretRef": {"name": "pg", "key": "dsn"}}}
    for dep in render(OWNER, spec).deployments:
        (env,) = dep["spec"]["template"]["spec"]["containers"][0]["env"]
        assert env == {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "pg", "key": "dsn"}}}


def test_children_carry_owner_references_and_recommended_labels() -> None:
    children = render(OWNER, {"trader": {"enabled": True}})
    assert len(children.config_maps) == len(children.deployments) == 5
    for obj in children.all():
        meta = obj["metadata"]
        assert meta["namespace"] == "trading"
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "soroka.io/v1alpha1",
                "kind": "Strategy",
                "name": "alpha",
                "uid": "1234-uid",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        labels = meta["labels"]
        assert (
            labels["app.kubernetes.io/name"] == "soroka" and labels["app.kubernetes.io/instance"] == "alpha"
        )
        assert labels["app.kubernetes.io/part-of"] == "soroka"
        assert labels["app.kubernetes.io/managed-by"] == "soroka-operator"
        assert labels["app.kubernetes.io/component"]
    selector = children.services[0]["spec"]["selector"]
    for dep in children.deployments:
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items(), "the metrics Service must select every pod"
        assert dep["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_replicas_follow_the_analyzers_and_trader_is_optional() -> None:
    children = render(OWNER, {"analyzers": {"replicas": 4}})
    replicas = {d["metadata"]["name"]: d["spec"]["replicas"] for d in children.deployments}
    assert replicas == {"alpha-ingest": 1, "alpha-analyze": 4, "alpha-publish": 1, "alpha-evaluate": 1}


def test_pods_run_the_service_with_its_env_file_probes_and_a_locked_down_context() -> None:
    for dep in render(OWNER, {}).deployments:
        service = dep["metadata"]["labels"]["app.kubernetes.io/component"]
        pod = dep["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"] == ["soroka", service, "--env-file", f"/etc/soroka/{service}.env"]
        assert container["ports"] == [{"name": "metrics", "containerPort": 8000, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        sc = container["securityContext"]
        assert sc["readOnlyRootFilesystem"] and sc["runAsNonRoot"] and sc["capabilities"] == {"drop": ["ALL"]}
        assert pod["securityContext"]["runAsNonRoot"] is True
        # A directory mount (not subPath), so a ConfigMap update reaches the running pod's file.
        assert {"name": "config", "mountPath": "/etc/soroka", "readOnly": True} in container["volumeMounts"]


def test_strategy_values_do_not_change_pod_templates_but_image_and_resources_do() -> None:
    base = {"filter": {"confidenceMin": 0.5}}
    retuned = {"filter": {"confidenceMin": 0.6, "eventFilterType": "ANY"}, "detector": {"lookback": 4}}
    for service in ("ingest", "analyze", "publish", "evaluate"):
        assert deployment(OWNER, service, base) == deployment(OWNER, service, retuned)
    image = deployment(OWNER, "analyze", {"image": {"tag": "0.2.0"}})["spec"]["template"]
    assert image != deployment(OWNER, "analyze", base)["spec"]["template"]
    res = {"analyzers": {"resources": {"limits": {"cpu": "2"}}}}
    assert (
        deployment(OWNER, "analyze", res)["spec"]["template"]
        != deployment(OWNER, "analyze", base)["spec"]["template"]
    )


def test_keys_read_only_at_start_roll_the_pods_of_the_services_that_read_them() -> None:
    base = {"detector": {"candleWindow": 240}}
    wider = {"detector": {"candleWindow": 480}}  # CANDLE_WINDOW is not hot-reloadable
    for service, rolls in (("ingest", True), ("analyze", True), ("evaluate", True), ("publish", False)):
        before = deployment(OWNER, service, base)["spec"]["template"]
        after = deployment(OWNER, service, wider)["spec"]["template"]
        assert (before != after) is rolls, service


def test_an_invalid_strategy_is_rejected_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="CONFIDENCE_MIN"):
        render(OWNER, {"filter": {"confidenceMin": 0.9, "confidenceMax": 0.5}})
    with pytest.raises(ConfigError, match="LOOKBACK"):
        render(OWNER, {"detector": {"lookback": 0}})


def test_every_deployment_migrates_the_schema_before_its_service_starts() -> None:
    from soroka_operator.rendering import Owner, render

    children = render(Owner(name="s", namespace="ns", uid="u1"), {})
    deployments = [c for c in children.all() if c["kind"] == "Deployment"]
    assert deployments
    for d in deployments:
        (init,) = d["spec"]["template"]["spec"]["initContainers"]
        assert init["command"][:3] == ["soroka", "db", "migrate"]
        assert init["volumeMounts"] == d["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
