"""kopf handlers: reconcile each Strategy into its services, report status, clean up on deletion.

Run with `python -m soroka_operator` or `kopf run -A --peering soroka -m soroka_operator.handlers`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import kopf

from soroka.core.settings import ConfigError
from soroka_operator import conditions
from soroka_operator.connecting import api_client, client_configuration, connection_info
from soroka_operator.crdgen import GROUP, PLURAL, VERSION
from soroka_operator.envfiles import SERVICES
from soroka_operator.reconciling import Cluster, Strategies
from soroka_operator.rendering import Owner, analyzer_selector, child_name, enabled_services, render

STRATEGIES = (GROUP, VERSION, PLURAL)
Logger = logging.Logger | logging.LoggerAdapter[Any]


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.posting.enabled = True
    settings.posting.level = logging.INFO
    settings.persistence.finalizer = f"{GROUP}/cleanup"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.watching.server_timeout = 300
    client = api_client(client_configuration())
    memo.cluster = Cluster(client)
    memo.strategies = Strategies(client, *STRATEGIES)
    memo.status_interval = float(os.environ.get("SOROKA_STATUS_INTERVAL", "15"))


@kopf.on.login()
def login(**_: Any) -> kopf.ConnectionInfo:
    return connection_info(client_configuration())


async def _readiness(
    cluster: Cluster, owner: Owner, spec: dict[str, Any], retry: int
) -> conditions.Readiness:
    deps = {
        s: await cluster.read("Deployment", owner.namespace, child_name(owner, s), retry=retry)
        for s in enabled_services(spec)
    }
    return conditions.readiness(deps)


def _analyzers(owner: Owner, state: conditions.Readiness) -> dict[str, Any]:
    return {
        "replicas": state.analyzers_replicas,
        "readyReplicas": state.analyzers_ready,
        "selector": analyzer_selector(owner),
    }


@kopf.on.resume(*STRATEGIES)
@kopf.on.create(*STRATEGIES)
@kopf.on.update(*STRATEGIES)
async def reconcile(
    name: str,
    namespace: str | None,
    uid: str,
    spec: kopf.Spec,
    meta: kopf.Meta,
    status: kopf.Status,
    body: kopf.Body,
    patch: kopf.Patch,
    retry: int,
    memo: kopf.Memo,
    logger: Logger,
    **_: Any,
) -> None:
    assert namespace is not None  # Strategy is a namespaced kind
    owner = Owner(name=name, namespace=namespace, uid=uid)
    generation = meta.get("generation")
    previous = list(status.get("conditions") or [])
    spec_dict = dict(spec)
    try:
        children = render(owner, spec_dict)
    except ConfigError as e:
        patch.status["conditions"] = conditions.degraded(previous, "InvalidStrategy", str(e), generation)
        patch.status["observedGeneration"] = generation
        kopf.warn(body, reason="InvalidStrategy", message=str(e))
        raise kopf.PermanentError(f"invalid strategy, the last applied one keeps running: {e}") from e
    cluster: Cluster = memo.cluster
    try:
        outcomes = [await cluster.apply(obj, retry=retry) for obj in children.all()]
        for service in set(SERVICES) - set(enabled_services(spec_dict)):
            await cluster.delete("Deployment", namespace, child_name(owner, service), retry=retry)
            await cluster.delete("ConfigMap", namespace, child_name(owner, service), retry=retry)
        state = await _readiness(cluster, owner, spec_dict, retry)
    except kopf.TemporaryError as e:
        patch.status["conditions"] = conditions.degraded(previous, "ApplyFailed", str(e), generation)
        kopf.warn(body, reason="ApplyFailed", message=str(e))
        raise
    changed = [
        obj["metadata"]["name"] for obj, o in zip(children.all(), outcomes, strict=True) if o != "unchanged"
    ]
    if changed:
        kopf.info(body, reason="Applied", message="created or updated: " + ", ".join(changed))
    logger.info("strategy %s applied (%d objects changed)", name, len(changed))
    patch.status["observedGeneration"] = generation
    patch.status["conditions"] = conditions.healthy(previous, state, generation)
    patch.status["analyzers"] = _analyzers(owner, state)
    patch.status["children"] = {
        "configMaps": [o["metadata"]["name"] for o in children.config_maps],
        "deployments": [o["metadata"]["name"] for o in children.deployments],
        "services": [o["metadata"]["name"] for o in children.services],
    }


@kopf.daemon(*STRATEGIES, cancellation_timeout=5.0)
async def track_readiness(
    name: str,
    namespace: str | None,
    uid: str,
    spec: kopf.Spec,
    status: kopf.Status,
    meta: kopf.Meta,
    memo: kopf.Memo,
    stopped: kopf.DaemonStopped,
    logger: Logger,
    **_: Any,
) -> None:
    """Follow the Deployments' ready counts into the Strategy's status (and so the scale subresource)."""
    assert namespace is not None  # Strategy is a namespaced kind
    owner = Owner(name=name, namespace=namespace, uid=uid)
    while not stopped:
        await stopped.wait(memo.status_interval)
        if stopped or status.get("observedGeneration") is None:
            continue
        degraded = any(
            c.get("type") == "Degraded" and c.get("status") == "True" for c in status.get("conditions") or []
        )
        try:
            state = await _readiness(memo.cluster, owner, dict(spec), 0)
            if degraded:
                continue
            previous = list(status.get("conditions") or [])
            fresh = conditions.healthy(previous, state, status.get("observedGeneration"))
            analyzers = _analyzers(owner, state)
            if not conditions.same(previous, fresh) or dict(status.get("analyzers") or {}) != analyzers:
                await memo.strategies.patch_status(
                    namespace, name, {"conditions": fresh, "analyzers": analyzers}
                )
        except kopf.TemporaryError as e:
            logger.warning("readiness of %s not updated: %s", name, e)


@kopf.on.delete(*STRATEGIES)
async def cleanup(name: str, namespace: str | None, uid: str, retry: int, memo: kopf.Memo, **_: Any) -> None:
    """Delete the children explicitly: owner references alone need a garbage collector."""
    assert namespace is not None  # Strategy is a namespaced kind
    owner = Owner(name=name, namespace=namespace, uid=uid)
    cluster: Cluster = memo.cluster
    for service in SERVICES:
        await cluster.delete("Deployment", namespace, child_name(owner, service), retry=retry)
        await cluster.delete("ConfigMap", namespace, child_name(owner, service), retry=retry)
    await cluster.delete("Service", namespace, f"{name}-metrics", retry=retry)
