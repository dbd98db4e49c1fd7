"""The cluster readers as scheduled jobs: each reader a step with its own collector status.

Two jobs: ``cluster`` (every ``kubernetes.interval``: CoreDNS pods, the kube-dns
Service, usage, ConfigMaps (the Corefile, or kube-dns's), NetworkPolicies) and ``inventory`` (every
``kubernetes.inventory_interval``: the cluster-wide lists). Steps run one after
the other in a worker thread; one that fails records
``k8s_dns_collector_success{collector=<step>} 0``, logs once per new error,
drops its piece from the readings, and the next steps still run. On a standby
(not the Lease holder) nothing is read and the steps' statuses are withdrawn.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import structlog

from exporter.cluster.readers.configs import (
    read_autoscaler,
    read_corefile,
    read_kube_dns_config,
    read_kube_proxy_mode,
    read_nodelocal,
)
from exporter.cluster.readers.context import Context, NoData, Partial
from exporter.cluster.readers.pod_dns import read_pod_dns
from exporter.cluster.readers.pods import read_coredns_pods, read_kube_dns_service
from exporter.cluster.readers.usage import read_usage
from exporter.cluster.readers.workloads import (
    read_disruption_budgets,
    read_inventory,
    read_network_policies,
    read_services,
    read_statefulsets,
)
from exporter.config import KubernetesConfig
from exporter.kube.api import describe
from exporter.status import Status

log = structlog.get_logger(__name__)

Step = tuple[str, Callable[[Context], Any]]

CLUSTER_STEPS: tuple[Step, ...] = (
    ("coredns_pods", read_coredns_pods),
    ("kube_dns_service", read_kube_dns_service),
    ("coredns_usage", read_usage),
    ("corefile", read_corefile),
    ("autoscaler", read_autoscaler),
    ("kube_dns_config", read_kube_dns_config),
    ("nodelocal", read_nodelocal),
    ("kube_proxy", read_kube_proxy_mode),
    ("network_policies", read_network_policies),
    ("disruption_budgets", read_disruption_budgets),
)
INVENTORY_STEPS: tuple[Step, ...] = (
    ("inventory", read_inventory),
    ("services", read_services),
    ("statefulsets", read_statefulsets),
)
POD_DNS_STEP: Step = ("pod_dns", read_pod_dns)


def inventory_steps(sample_pods: int) -> tuple[Step, ...]:
    """The cluster-wide lists; the pod DNS sample only when ``kubernetes.sample_pods`` asks for it."""
    return (*INVENTORY_STEPS, POD_DNS_STEP) if sample_pods else INVENTORY_STEPS


class Readers:
    def __init__(
        self,
        ctx: Context,
        status: Status,
        leading: Callable[[], bool],
        guard: threading.Lock | None = None,
    ) -> None:
        self._ctx = ctx
        self._status = status
        self._leading = leading
        self._guard = guard or threading.Lock()
        """Held while a reading is stored, and by whoever clears the readings on losing the Lease:
        a read that finishes after the loss stores nothing, so no status claims data that is gone."""
        self._errors: dict[str, str] = {}
        self._running: set[tuple[str, ...]] = set()

    @property
    def k8s(self) -> KubernetesConfig:
        return self._ctx.k8s

    def relocate(self, k8s: KubernetesConfig) -> None:
        """Read the objects ``k8s`` names from now on (the located cluster DNS)."""
        self._ctx = replace(self._ctx, k8s=k8s)

    async def run(self, steps: tuple[Step, ...]) -> bool:
        """Run ``steps`` in a worker thread; True if they ran. A standby reads nothing (and withdraws
        the steps' statuses); a run of the same steps still going makes this one a no-op."""
        if not self._leading():
            for name, _ in steps:
                self._status.forget(name)
            return False
        names = tuple(name for name, _ in steps)
        if names in self._running:
            return False
        self._running.add(names)
        try:
            await asyncio.to_thread(self.run_steps, steps)
        finally:
            self._running.discard(names)
        return True

    def run_steps(self, steps: tuple[Step, ...]) -> None:
        for name, read in steps:
            started = time.perf_counter()
            try:
                value = read(self._ctx)
            except NoData as exc:
                self._failed(name, str(exc), started, quiet=True)
            except Partial as exc:
                self._store(name, exc.value, started, error=str(exc))
            except Exception as exc:  # noqa: BLE001 - any reader failure is data, never a crash
                self._failed(name, describe(exc), started, quiet=False, error_type=type(exc).__name__)
            else:
                self._store(name, value, started)

    def _store(self, name: str, value: Any, started: float, error: str | None = None) -> None:
        """Keep ``value``; with ``error``, a partial read: kept, and the collector reports 0."""
        with self._guard:
            if not self._leading():
                return
            self._ctx.state.set(name, value, error)
            self._status.record(name, ok=error is None, duration=time.perf_counter() - started, error=error)
        if error is not None:
            if self._errors.get(name) != error:
                log.warning("cluster_reader_partial", collector=name, error=error)
            self._errors[name] = error
        elif self._errors.pop(name, None) is not None:
            log.info("cluster_reader_recovered", collector=name)

    def _failed(self, name: str, error: str, started: float, *, quiet: bool, error_type: str = "") -> None:
        with self._guard:
            if not self._leading():
                return
            self._ctx.state.fail(name, error)
            self._status.record(name, ok=False, duration=time.perf_counter() - started, error=error)
        if self._errors.get(name) != error:
            if quiet:
                log.info("cluster_reader_no_data", collector=name, reason=error)
            else:
                log.warning("cluster_reader_failed", collector=name, error=error, error_type=error_type)
        self._errors[name] = error
