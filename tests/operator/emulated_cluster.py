"""Helpers for the end-to-end tests: an emulated API on a real port, a kubeconfig for it, polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kmock
import yaml
from kube_emulator import TEST_AGENT, KubeEmulator

REPO = Path(__file__).resolve().parents[2]
NS = "trading"
STRATEGIES = "/apis/soroka.io/v1alpha1/namespaces/trading/strategies"


@dataclass
class Cluster:
    emulator: KubeEmulator
    server: kmock.Server
    kubeconfig: Path

    async def request(self, method: str, path: str, body: Any = None, patch: str = "merge") -> Any:
        headers = {"Content-Type": f"application/{patch}-patch+json"} if method == "PATCH" else {}
        async with self.server.client.request(method, path, json=body, headers=headers) as resp:
            data = await resp.json()
            assert resp.status < 300, (resp.status, data)
            return data

    def objects(
        self, group: str, version: str, plural: str, namespace: str = NS
    ) -> dict[str, dict[str, Any]]:
        res = kmock.resource(group=group, version=version, plural=plural)
        return {
            name: obj.raw
            for (r, ns, name), obj in self.emulator.objects.items()
            if r == res and ns == namespace and not obj.deleted
        }

    def history(self, group: str, version: str, plural: str, name: str) -> int:
        res = kmock.resource(group=group, version=version, plural=plural)
        return len(self.emulator.objects[res, NS, name].history)

    def config_maps(self) -> dict[str, dict[str, Any]]:
        return self.objects("", "v1", "configmaps")

    def deployments(self) -> dict[str, dict[str, Any]]:
        return self.objects("apps", "v1", "deployments")

    def strategy(self, name: str) -> dict[str, Any] | None:
        return self.objects("soroka.io", "v1alpha1", "strategies").get(name)


async def eventually(check: Callable[[], Any], within: float = 10.0, what: str = "") -> Any:
    """Poll until `check()` is truthy; fail with `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


def write_kubeconfig(path: Path, url: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emulator", "cluster": {"server": url}}],
        "users": [{"name": "operator", "user": {"token": "emulator-token"}}],
        "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "operator"}}],
        "current-context": "emulator",
    }
    path.write_text(yaml.safe_dump(config))
    return path


@asynccontextmanager
async def emulated_cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    """An emulated API with the CRDs installed and the operator's peering object created."""
    emulator = KubeEmulator()
    async with emulator, kmock.Server(emulator, user_agent=TEST_AGENT) as server:
        cluster = Cluster(emulator, server, write_kubeconfig(tmp_path / "kubeconfig", str(server.url)))
        crd_path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        for name in ("strategies.soroka.io.yaml", "kopf-peering.yaml"):
            for crd in yaml.safe_load_all((REPO / "crds" / name).read_text()):
                await cluster.request("POST", crd_path, crd)
        peering = {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": {"name": "soroka"}}
        await cluster.request("POST", "/apis/kopf.dev/v1/clusterkopfpeerings", peering)
        yield cluster
