"""End to end against the emulated API: a real kopf operator runs a Strategy through its whole life."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import kopf
import pytest
from emulated_cluster import NS, STRATEGIES, Cluster, emulated_cluster, eventually
from rbac_rules import assert_rbac_matches

from soroka_operator import handlers  # noqa: F401  (registers the handlers)

SPEC: dict[str, Any] = {
    "filter": {"confidenceMin": 0.5},
    "analyzers": {"replicas": 2},
    "outputs": {"telegram": {"chatId": "@signals", "tokenSecretRef": {"name": "tg", "key": "bot-token"}}},
}


def _env(cluster: Cluster, name: str) -> dict[str, str]:
    cm = cluster.config_maps()[name]
    text = next(iter(cm["data"].values()))
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def _condition(cluster: Cluster, ctype: str) -> dict[str, Any] | None:
    obj = cluster.strategy("alpha") or {}
    return next((c for c in (obj.get("status") or {}).get("conditions", []) if c["type"] == ctype), None)


async def _mark_ready(cluster: Cluster) -> None:
    """Play the Deployment controller: report every Deployment's pods ready."""
    for name, dep in cluster.deployments().items():
        path = f"/apis/apps/v1/namespaces/{NS}/deployments/{name}"
        await cluster.request("PATCH", path, {"status": {"readyReplicas": dep["spec"]["replicas"]}})


@pytest.mark.timeout(60)
async def test_strategy_lifecycle_creates_retunes_scales_degrades_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with emulated_cluster(tmp_path) as cluster:
        monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
        monkeypatch.setenv("SOROKA_STATUS_INTERVAL", "0.2")
        stop: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        operator = asyncio.create_task(kopf.operator(clusterwide=True, peering_name="soroka", stop_flag=stop))
        try:
            await _lifecycle(cluster)
        finally:
            stop.set_result(None)
            await asyncio.wait_for(operator, timeout=10)
        assert_rbac_matches(cluster.emulator.audit)


async def _lifecycle(cluster: Cluster) -> None:
    body = {
        "apiVersion": "soroka.io/v1alpha1",
        "kind": "Strategy",
        "metadata": {"name": "alpha"},
        "spec": SPEC,
    }
    created = await cluster.request("POST", STRATEGIES, body)

    # Created: one ConfigMap and Deployment per service (trader off), one metrics Service.
    expected = {f"alpha-{s}" for s in ("ingest", "analyze", "publish", "evaluate")}
    await eventually(lambda: set(cluster.deployments()) == expected, what="deployments")
    await eventually(lambda: set(cluster.config_maps()) == expected, what="config maps")
    await eventually(lambda: cluster.objects("", "v1", "services").get("alpha-metrics"), what="service")
    assert _env(cluster, "alpha-analyze")["CONFIDENCE_MIN"] == "0.5"
    assert _env(cluster, "alpha-publish")["TELEGRAM_TOKEN_FILE"] == "/etc/soroka-secrets/telegram/token"
    deps = cluster.deployments()
    assert deps["alpha-analyze"]["spec"]["replicas"] == 2
    for obj in (*deps.values(), *cluster.config_maps().values()):
        (ref,) = obj["metadata"]["ownerReferences"]
        assert (ref["kind"], ref["name"], ref["uid"]) == ("Strategy", "alpha", created["metadata"]["uid"])
    status = await eventually(lambda: (cluster.strategy("alpha") or {}).get("status", {}).get("children"))
    assert status["deployments"] == sorted(expected, key=list(status["deployments"]).index)
    assert set(status["configMaps"]) == expected and status["services"] == ["alpha-metrics"]
    ready = await eventually(lambda: _condition(cluster, "Ready"), what="Ready condition")
    assert ready["status"] == "False" and ready["reason"] == "Waiting"

    # The pods come up: the readiness daemon reports Ready and the analyzers' ready count.
    await _mark_ready(cluster)
    await eventually(lambda: (_condition(cluster, "Ready") or {}).get("status") == "True", what="Ready=True")
    strategy = cluster.strategy("alpha") or {}
    assert strategy["status"]["analyzers"]["readyReplicas"] == 2
    assert strategy["status"]["observedGeneration"] == strategy["metadata"]["generation"]

    # Someone edits the metrics Service by hand: the next reconcile puts it back.
    service_path = f"/api/v1/namespaces/{NS}/services/alpha-metrics"
    await cluster.request("PATCH", service_path, {"spec": {"ports": [{"name": "metrics", "port": 9999}]}})

    # Retune: only the ConfigMap changes; no Deployment is touched (the services hot-reload).
    versions = {name: cluster.history("apps", "v1", "deployments", name) for name in expected}
    await cluster.request("PATCH", f"{STRATEGIES}/alpha", {"spec": {"filter": {"confidenceMax": 0.9}}})
    await eventually(lambda: _env(cluster, "alpha-analyze")["CONFIDENCE_MAX"] == "0.9", what="retune")
    port = lambda: cluster.objects("", "v1", "services")["alpha-metrics"]["spec"]["ports"][0]["port"]  # noqa: E731
    await eventually(lambda: port() == 8000, what="service drift repaired")
    await eventually(lambda: (cluster.strategy("alpha") or {})["status"].get("observedGeneration") == 2)
    assert {name: cluster.history("apps", "v1", "deployments", name) for name in expected} == versions

    # Scale: the analyzers' Deployment follows spec.analyzers.replicas; the others stay.
    await cluster.request("PATCH", f"{STRATEGIES}/alpha", {"spec": {"analyzers": {"replicas": 3}}})
    await eventually(lambda: cluster.deployments()["alpha-analyze"]["spec"]["replicas"] == 3, what="scale")
    others = expected - {"alpha-analyze"}
    assert {n: cluster.history("apps", "v1", "deployments", n) for n in others} == {
        n: versions[n] for n in others
    }

    # Invalid change (the emulator runs no CEL): Degraded with an Event; the last good config stays.
    await cluster.request("PATCH", f"{STRATEGIES}/alpha", {"spec": {"filter": {"confidenceMin": 0.95}}})
    degraded = await eventually(
        lambda: (
            (_condition(cluster, "Degraded") or {}).get("status") == "True"
            and _condition(cluster, "Degraded")
        )
    )
    assert degraded["reason"] == "InvalidStrategy" and "CONFIDENCE_MIN" in degraded["message"]
    events = await eventually(
        lambda: [
            e for e in cluster.objects("", "v1", "events").values() if e.get("reason") == "InvalidStrategy"
        ],
        what="InvalidStrategy event",
    )
    assert events[0]["involvedObject"]["name"] == "alpha" and events[0]["type"] == "Warning"
    assert _env(cluster, "alpha-analyze")["CONFIDENCE_MIN"] == "0.5"

    # Delete: the operator removes every child, then its finalizer.
    await cluster.request("DELETE", f"{STRATEGIES}/alpha")
    await eventually(lambda: cluster.strategy("alpha") is None, what="strategy gone")
    assert cluster.deployments() == {} and cluster.config_maps() == {}
    assert cluster.objects("", "v1", "services") == {}
