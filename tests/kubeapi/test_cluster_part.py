"""The cluster part in a running instance: a replica that takes the Lease reads the cluster at once
(readers and inventory alike), without waiting for its jobs' next scheduled runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from exporter.compose import build
from exporter.config import parse_config
from exporter.runtime import Runtime
from lab.kubeapi.cluster import FakeCluster
from lab.kubeapi.server import KubeAPI


async def eventually(predicate: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        await asyncio.sleep(0.02)


def serving(kubeconfig: Path) -> Runtime:
    """A cluster instance as ``serve`` builds it (election on), whose jobs are never scheduled here."""
    doc = {
        "mode": "cluster",
        "interval": "1s",
        "timeout": "200ms",
        "names": [{"name": "example.org."}],
        "paths": {"upstream": "auto"},
        "kubernetes": {
            "config": "kubeconfig",
            "kubeconfig": str(kubeconfig),
            "qps": 200,
            "interval": "1h",
            "inventory_interval": "1h",
            "lease": {"duration": "3s", "renew_deadline": "2s", "retry_period": "100ms"},
        },
    }
    return build(parse_config(doc))


def test_a_new_leader_reads_the_cluster_and_the_inventory_at_once(
    kube_api: KubeAPI, kubeconfig: Path
) -> None:
    FakeCluster(kube_api, ["127.0.20.1", "127.0.20.2"], "127.0.10.10", 5353, ["127.0.40.1:5353"]).load()
    runtime = serving(kubeconfig)

    async def scenario() -> None:
        tasks = [asyncio.create_task(task()) for task in runtime.tasks]  # the watch and the Lease
        try:
            await eventually(runtime.leading, "the Lease")
            await eventually(
                lambda: (c := runtime.snapshot().cluster) is not None and c.pods is not None,
                "the CoreDNS pods read after taking the Lease",
            )
            await eventually(
                lambda: (c := runtime.snapshot().cluster) is not None and c.capacity is not None,
                "the inventory read after taking the Lease",
            )
            # The Corefile read for the readers is what upstream: auto probes, with no job run.
            await eventually(
                lambda: (
                    (d := runtime.snapshot().discovery) is not None
                    and d.targets.get("upstream") == ("127.0.40.1:5353",)
                ),
                "upstream: auto from the Corefile the readers read",
            )
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())
    assert not [r for r in kube_api.requests if r.path.endswith("/configmaps/coredns") and r.method != "GET"]
