"""Create-or-patch a Strategy's children and read their readiness (the operator's I/O shell).

The blocking `kubernetes` client runs in worker threads; API errors become kopf's retry policy:
conflicts and server errors are temporary, everything else too (the next attempt may succeed),
with a backoff that grows with the retry count.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import kopf
import kubernetes
import urllib3

MERGE_PATCH = "application/merge-patch+json"


def backoff(retry: int) -> float:
    return float(min(120, 2 ** min(retry, 7)))


def is_subset(desired: Any, existing: Any) -> bool:
    """Whether `existing` already holds every value of `desired` (the server may add defaults)."""
    if isinstance(desired, dict):
        return isinstance(existing, dict) and all(is_subset(v, existing.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        return (
            isinstance(existing, list)
            and len(desired) == len(existing)
            and all(is_subset(d, e) for d, e in zip(desired, existing, strict=True))
        )
    return bool(desired == existing)


class Cluster:
    """Typed access to the few kinds the operator manages, in one namespace at a time."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._core = kubernetes.client.CoreV1Api(client)
        self._apps = kubernetes.client.AppsV1Api(client)

    def _ops(
        self, kind: str
    ) -> tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any], Callable[..., Any]]:
        api, noun = {
            "ConfigMap": (self._core, "config_map"),
            "Service": (self._core, "service"),
            "Deployment": (self._apps, "deployment"),
        }[kind]
        return (
            getattr(api, f"read_namespaced_{noun}"),
            getattr(api, f"create_namespaced_{noun}"),
            getattr(api, f"patch_namespaced_{noun}"),
            getattr(api, f"delete_namespaced_{noun}"),
        )

    def _read(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        read = self._ops(kind)[0]
        try:
            obj = read(name, namespace)
        except kubernetes.client.ApiException as e:
            if e.status == 404:
                return None
            raise
        result: dict[str, Any] = self._client.sanitize_for_serialization(obj)
        return result

    def _apply(self, obj: dict[str, Any]) -> str:
        kind, meta = obj["kind"], obj["metadata"]
        _, create, patch, _ = self._ops(kind)
        existing = self._read(kind, meta["namespace"], meta["name"])
        if existing is None:
            create(meta["namespace"], obj)
            return "created"
        if is_subset(obj, existing):
            return "unchanged"
        patch(meta["name"], meta["namespace"], obj, _content_type=MERGE_PATCH)
        return "patched"

    def _delete(self, kind: str, namespace: str, name: str) -> bool:
        delete = self._ops(kind)[3]
        try:
            delete(name, namespace)
        except kubernetes.client.ApiException as e:
            if e.status == 404:
                return False
            raise
        return True

    async def apply(self, obj: dict[str, Any], *, retry: int = 0) -> str:
        """Create or merge-patch one object; returns created / patched / unchanged."""
        outcome: str = await _guard(asyncio.to_thread(self._apply, obj), retry)
        return outcome

    async def delete(self, kind: str, namespace: str, name: str, *, retry: int = 0) -> bool:
        deleted: bool = await _guard(asyncio.to_thread(self._delete, kind, namespace, name), retry)
        return deleted

    async def read(self, kind: str, namespace: str, name: str, *, retry: int = 0) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await _guard(
            asyncio.to_thread(self._read, kind, namespace, name), retry
        )
        return found


async def _guard(call: Any, retry: int) -> Any:
    try:
        result = await call
    except kubernetes.client.ApiException as e:
        raise kopf.TemporaryError(
            f"Kubernetes API answered {e.status} {e.reason}: will retry", delay=backoff(retry)
        ) from e
    except (OSError, urllib3.exceptions.HTTPError) as e:
        raise kopf.TemporaryError(
            f"Kubernetes API unreachable ({e}): will retry", delay=backoff(retry)
        ) from e
    return result


class Strategies:
    """Status writes for Strategy objects outside kopf's handler patches (the readiness daemon)."""

    def __init__(self, client: Any, group: str, version: str, plural: str) -> None:
        self._api = kubernetes.client.CustomObjectsApi(client)
        self._where = (group, version, plural)

    def _patch_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        group, version, plural = self._where
        self._api.patch_namespaced_custom_object_status(
            group, version, namespace, plural, name, {"status": status}, _content_type=MERGE_PATCH
        )

    async def patch_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        await _guard(asyncio.to_thread(self._patch_status, namespace, name, status), 0)
