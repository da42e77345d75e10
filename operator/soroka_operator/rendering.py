"""Strategy → the Kubernetes objects that run it: ConfigMaps, Deployments and a metrics Service (pure)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from soroka.core.settings import SERVICE_SETTINGS, is_hot
from soroka_operator.crdparts import DEFAULT_IMAGE
from soroka_operator.envfiles import (
    CONFIG_DIR,
    HTTP_PORT,
    SERVICES,
    TOKEN_DIR,
    env_file_text,
    env_path,
    service_env,
)
from soroka_operator.fields import lookup

API_VERSION = "soroka.io/v1alpha1"
MANAGER = "soroka-operator"
DEFAULT_RESOURCES: dict[str, Any] = {
    "requests": {"cpu": "50m", "memory": "128Mi"},
    "limits": {"memory": "512Mi"},
}


@dataclass(frozen=True)
class Owner:
    """The Strategy whose children are rendered."""

    name: str
    namespace: str
    uid: str


@dataclass(frozen=True)
class Children:
    """Everything one Strategy runs, in the order it is applied."""

    config_maps: tuple[dict[str, Any], ...]
    deployments: tuple[dict[str, Any], ...]
    services: tuple[dict[str, Any], ...]

    def all(self) -> tuple[dict[str, Any], ...]:
        return (*self.config_maps, *self.deployments, *self.services)


def child_name(owner: Owner, service: str) -> str:
    return f"{owner.name}-{service}"


def selector_labels(owner: Owner, component: str | None = None) -> dict[str, str]:
    labels = {"app.kubernetes.io/name": "soroka", "app.kubernetes.io/instance": owner.name}
    if component is not None:
        labels["app.kubernetes.io/component"] = component
    return labels


def labels(owner: Owner, component: str) -> dict[str, str]:
    return {
        **selector_labels(owner, component),
        "app.kubernetes.io/part-of": "soroka",
        "app.kubernetes.io/managed-by": MANAGER,
    }


def metadata(owner: Owner, name: str, component: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": owner.namespace,
        "labels": labels(owner, component),
        "ownerReferences": [
            {
                "apiVersion": API_VERSION,
                "kind": "Strategy",
                "name": owner.name,
                "uid": owner.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }


def enabled_services(spec: dict[str, Any]) -> tuple[str, ...]:
    trader = bool(lookup(spec, ("trader", "enabled")))
    return tuple(s for s in SERVICES if s != "trader" or trader)


def replicas(service: str, spec: dict[str, Any]) -> int:
    if service == "analyze":
        value = lookup(spec, ("analyzers", "replicas"))
        return 1 if value is None else int(value)
    return 1


RESTART_ANNOTATION = "soroka.io/restart-config"


def restart_digest(service: str, name: str, spec: dict[str, Any]) -> str:
    """A digest of the service's values that take effect only at a restart."""
    cls = SERVICE_SETTINGS[service]
    env = service_env(service, name, spec)
    cold = sorted(
        (k, v) for k, v in env.items() if k.lower() in cls.model_fields and not is_hot(cls, k.lower())
    )
    return hashlib.sha256(repr(cold).encode()).hexdigest()[:16]


def config_map(owner: Owner, service: str, spec: dict[str, Any]) -> dict[str, Any]:
    env = service_env(service, owner.name, spec)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(owner, child_name(owner, service), service),
        "data": {f"{service}.env": env_file_text(service, env)},
    }


def _container(service: str, spec: dict[str, Any]) -> dict[str, Any]:
    image = {**DEFAULT_IMAGE, **(lookup(spec, ("image",)) or {})}
    resources_path = ("analyzers", "resources") if service == "analyze" else ("resources",)
    mounts = [
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},
    ]
    if service == "publish" and lookup(spec, ("outputs", "telegram", "tokenSecretRef")):
        mounts.append({"name": "telegram-token", "mountPath": TOKEN_DIR, "readOnly": True})
    container: dict[str, Any] = {
        "name": service,
        "image": f"{image['repository']}:{image['tag']}",
        "imagePullPolicy": image["pullPolicy"],
        "command": ["soroka", service, "--env-file", env_path(service)],
        "ports": [{"name": "metrics", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": "metrics"},
            "periodSeconds": 20,
            "failureThreshold": 3,
        },
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "metrics"}, "periodSeconds": 10},
        "resources": lookup(spec, resources_path) or DEFAULT_RESOURCES,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    db_ref = lookup(spec, ("connection", "databaseUrlSecretRef"))
    if db_ref:  # the environment wins over the .env file in load_settings
        key_ref = {"name": db_ref["name"], "key": db_ref.get("key", "url")}
        container["env"] = [{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": key_ref}}]
    return container


def _migrate_container(service: str, spec: dict[str, Any]) -> dict[str, Any]:
    main = _container(service, spec)
    init = {k: v for k, v in main.items() if k not in ("ports", "livenessProbe", "readinessProbe")}
    return {
        **init,
        "name": "migrate",
        "command": ["soroka", "db", "migrate", "--env-file", env_path(service)],
    }


def _volumes(owner: Owner, service: str, spec: dict[str, Any]) -> list[dict[str, Any]]:
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": child_name(owner, service)}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ]
    ref = lookup(spec, ("outputs", "telegram", "tokenSecretRef"))
    if service == "publish" and ref:
        items = [{"key": ref.get("key", "token"), "path": "token"}]
        volumes.append({"name": "telegram-token", "secret": {"secretName": ref["name"], "items": items}})
    return volumes


def deployment(owner: Owner, service: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A service's Deployment. Its pod template does not depend on strategy values: a retune only
    rewrites the mounted `.env` file, which the service hot-reloads without a restart."""
    pod_labels = labels(owner, service)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(owner, child_name(owner, service), service),
        "spec": {
            "replicas": replicas(service, spec),
            # One ingest at a time: two would double the Binance weight and the candles.
            "strategy": {"type": "Recreate"} if service == "ingest" else {"type": "RollingUpdate"},
            "selector": {"matchLabels": selector_labels(owner, service)},
            "template": {
                "metadata": {
                    "labels": pod_labels,
                    "annotations": {
                        # Keys a service reads only at start (INTERVAL, CANDLE_WINDOW, URLs...) roll the pods
                        # when they change; hot keys only rewrite the mounted file.
                        RESTART_ANNOTATION: restart_digest(service, owner.name, spec),
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(HTTP_PORT),
                        "prometheus.io/path": "/metrics",
                    },
                },
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 10001,
                        "fsGroup": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    # Every service needs the schema; `soroka db migrate` is idempotent and takes an advisory
                    # lock, so the pods of all services may run it at once.
                    "initContainers": [_migrate_container(service, spec)],
                    "containers": [_container(service, spec)],
                    "volumes": _volumes(owner, service, spec),
                },
            },
        },
    }


def metrics_service(owner: Owner) -> dict[str, Any]:
    """One Service in front of all the strategy's pods, for Prometheus (and the ServiceMonitor)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(owner, f"{owner.name}-metrics", "metrics"),
        "spec": {
            "selector": selector_labels(owner),
            "ports": [{"name": "metrics", "port": HTTP_PORT, "targetPort": "metrics", "protocol": "TCP"}],
        },
    }


def render(owner: Owner, spec: dict[str, Any]) -> Children:
    """All children of a Strategy. Raises ConfigError (from the settings models) on an invalid spec."""
    services = enabled_services(spec)
    return Children(
        config_maps=tuple(config_map(owner, s, spec) for s in services),
        deployments=tuple(deployment(owner, s, spec) for s in services),
        services=(metrics_service(owner),),
    )


def analyzer_selector(owner: Owner) -> str:
    """The label selector of the analyzer pods, as the scale subresource reports it."""
    return ",".join(f"{k}={v}" for k, v in selector_labels(owner, "analyze").items())
