"""`kopf run` as a separate process, configured only by a kubeconfig file, reconciles a Strategy."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from emulated_cluster import STRATEGIES, emulated_cluster, eventually


@pytest.mark.timeout(60)
async def test_kopf_run_subprocess_with_only_a_kubeconfig_reconciles_a_strategy(tmp_path: Path) -> None:
    async with emulated_cluster(tmp_path) as cluster:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env["KUBECONFIG"] = str(cluster.kubeconfig)
        cmd = [
            sys.executable,
            "-m",
            "kopf",
            "run",
            "-A",
            "--peering",
            "soroka",
            "-m",
            "soroka_operator.handlers",
        ]
        proc = await asyncio.create_subprocess_exec(
            *cmd, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        try:
            body = {"apiVersion": "soroka.io/v1alpha1", "kind": "Strategy", "metadata": {"name": "beta"}}
            await cluster.request(
                "POST", STRATEGIES, {**body, "spec": {"filter": {"eventFilterType": "BOS_DOWN"}}}
            )
            await eventually(lambda: "beta-analyze" in cluster.config_maps(), within=30, what="config map")
            text = cluster.config_maps()["beta-analyze"]["data"]["analyze.env"]
            assert "EVENT_FILTER_TYPE=BOS_DOWN" in text.splitlines()
            peering = cluster.objects("kopf.dev", "v1", "clusterkopfpeerings", namespace=None)["soroka"]
            assert peering.get("status"), "the operator did not announce itself in the peering object"
        finally:
            proc.terminate()
            _, stderr = await asyncio.wait_for(proc.communicate(), timeout=15)
        assert b"Traceback" not in stderr, stderr.decode()[-2000:]
