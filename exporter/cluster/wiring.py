"""Plug the Kubernetes parts into a :class:`~exporter.runtime.Runtime`, by mode.

==================  =========================================================
mode                what runs
==================  =========================================================
node                discovery of ``auto`` paths only (stdlib client: one
                    EndpointSlice watch and a few GETs); the ``kubernetes``
                    package is never imported
cluster             discovery, plus the cluster readers and Lease election
                    with the ``kubernetes`` package; only the Lease holder
                    probes and reports
==================  =========================================================

``one_shot`` (``doctor``) reads once: no watch, no election.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import Metric

from exporter.cluster.readings import ClusterReadings, ClusterState
from exporter.cluster.render import render_cluster, render_discovery, render_leader
from exporter.config import Config, KubernetesConfig
from exporter.kube.client import LiteClient
from exporter.kube.credentials import Credentials, from_kubeconfig, in_cluster
from exporter.targets.discovery import KubernetesDiscovery
from exporter.targets.endpointslices import REMOVED_KEEP

if TYPE_CHECKING:
    from exporter.runtime import Runtime


def credentials(k8s: KubernetesConfig) -> Credentials:
    if k8s.config == "in-cluster":
        return in_cluster()
    assert k8s.kubeconfig is not None
    return from_kubeconfig(k8s.kubeconfig, k8s.context)


def install(runtime: Runtime, config: Config, *, one_shot: bool) -> KubernetesDiscovery | None:
    """Add discovery (and in cluster mode the readers and election) to ``runtime``."""
    from exporter.runtime import Job  # noqa: PLC0415 - runtime imports this module

    k8s = config.kubernetes
    cluster_mode = config.mode == "cluster"
    auto = any(spec == "auto" for spec in config.paths.direct().values())
    if not k8s.enabled or not (auto or cluster_mode):
        return None
    client = LiteClient(lambda: credentials(k8s), timeout=k8s.timeout)
    discovery = KubernetesDiscovery(config, client, runtime.status, watch_slices=cluster_mode)
    runtime.jobs.append(Job("discovery", k8s.refresh, discovery.refresh))
    if discovery.slices is not None and not one_shot:
        runtime.tasks.append(discovery.watch)
    runtime.before_round.append(lambda: discovery.wait_ready(min(k8s.timeout, config.interval)))
    runtime.readings["discovery"] = discovery.readings
    if discovery.auto:
        runtime.renderers.append(lambda: render_discovery(discovery.readings(), discovery.auto))
    if cluster_mode:
        _install_cluster(runtime, config, discovery, one_shot=one_shot)
    return discovery


def _install_cluster(
    runtime: Runtime, config: Config, discovery: KubernetesDiscovery, *, one_shot: bool
) -> None:
    # Imported here: these load the kubernetes package, which node mode must not pay for.
    from exporter.cluster.api import ClusterApi  # noqa: PLC0415
    from exporter.cluster.jobs import CLUSTER_STEPS, Readers, inventory_steps  # noqa: PLC0415
    from exporter.cluster.leader import LeaderElector  # noqa: PLC0415
    from exporter.cluster.readers.context import Context  # noqa: PLC0415
    from exporter.runtime import Job  # noqa: PLC0415

    k8s = config.kubernetes
    api = ClusterApi(k8s)
    inventory = inventory_steps(k8s.sample_pods)
    parts = _Cluster(runtime, discovery, ClusterState(k8s.capacity), CLUSTER_STEPS + inventory)
    if not one_shot:
        parts.elector = LeaderElector(api, k8s.lease, runtime.status, on_change=parts.on_change)
        runtime.tasks.append(parts.elector.run)
        runtime.leading = parts.leading
    readers = Readers(Context(api, k8s, parts.state), runtime.status, parts.leading, parts.guard)

    async def cluster_job() -> None:
        await readers.run(CLUSTER_STEPS)

    async def inventory_job() -> None:
        await readers.run(inventory)

    runtime.jobs.append(Job("cluster", k8s.interval, cluster_job))
    runtime.jobs.append(Job("inventory", k8s.inventory_interval, inventory_job))
    runtime.readings["cluster"] = parts.readings
    runtime.renderers.append(parts.render)


class _Cluster:
    """The cluster-mode state a runtime reads: readings and metrics only while leading."""

    def __init__(
        self, runtime: Runtime, discovery: KubernetesDiscovery, state: ClusterState, steps: tuple[Any, ...]
    ) -> None:
        self.runtime = runtime
        self.discovery = discovery
        self.state = state
        self.steps = steps
        self.elector: Any = None
        self.guard = threading.Lock()
        """Shared with the readers: clearing on a lost Lease and storing a reading never interleave."""

    def leading(self) -> bool:
        return self.elector is None or bool(self.elector.leading)

    def on_change(self, leading: bool) -> None:
        if not leading:
            with self.guard:
                self.state.clear()
                for name, _ in self.steps:
                    self.runtime.status.forget(name)

    def readings(self) -> ClusterReadings:
        if not self.leading():
            return ClusterReadings(leader=False)
        removed: tuple[tuple[str, float], ...] = ()
        if self.discovery.slices is not None:
            recent = self.discovery.slices.removed_since(time.time() - REMOVED_KEEP)
            removed = tuple((str(server), at) for server, at in recent)
        return self.state.snapshot(leader=True, removed=removed)

    def render(self) -> Iterator[Metric]:
        yield from render_leader(self.leading())
        if self.leading():
            yield from render_cluster(self.readings())
