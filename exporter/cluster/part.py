"""The cluster instance's part of the runtime: the API readers on their schedules, and Lease election.

Two jobs read the API (``cluster`` every ``kubernetes.interval``, ``inventory`` every
``kubernetes.inventory_interval``); the Lease decides which replica reads and reports.
A standby reads nothing, probes nothing and reports only ``k8s_dns_leader 0``; when
it takes the Lease it reads the cluster at once. ``one_shot`` (``doctor``) reads
once: no election. The Corefile the readers fetch is also what ``upstream: auto``
probes (:meth:`Cluster.forward_servers`), so it is fetched once, here; so is kube-dns's
ConfigMap where kube-dns serves. Their conditional forwarders (stub domains) are probed for
their zones (:meth:`Cluster.forward_zones`).

This module loads the ``kubernetes`` package: the composition root imports it in
cluster mode only.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from exporter.cluster.jobs import CLUSTER_STEPS, Readers, Step, inventory_steps
from exporter.cluster.readers.context import Context
from exporter.cluster.readers.coredns_metrics import MetricsReader
from exporter.cluster.readings import ClusterReadings, ClusterState
from exporter.config import Config, Server
from exporter.corefile.lint import corefile_forward_servers, corefile_forward_zones
from exporter.kube.api import ClusterApi
from exporter.kube.leader import LeaderElector
from exporter.part import Job, Part
from exporter.status import Status
from exporter.targets.locate import DnsLocation
from exporter.targets.zones import ZoneTarget, bounded

ONE_SHOT_SETTLE = 2.0
"""``doctor`` reads CoreDNS's counters twice this far apart: its rates are over these seconds."""
CorefileRemoved = Callable[[], tuple[tuple[str, float], ...]]


class Cluster:
    """The cluster-mode state a runtime reads: readings and metrics only while leading."""

    def __init__(self, config: Config, status: Status, *, one_shot: bool, located: bool = True) -> None:
        """``located`` False: read nothing until :meth:`relocate` says where the cluster DNS lives
        (discovery finds it; reading the configured names before would read the wrong objects)."""
        k8s = config.kubernetes
        self._k8s = k8s
        self._located = located
        self._skipped = False
        self._status = status
        self._timeout = min(k8s.timeout, config.interval)
        self.state = ClusterState(k8s.capacity)
        self._inventory = inventory_steps(k8s.sample_pods)
        self._metrics = MetricsReader(k8s.capacity.peak_window, settle=ONE_SHOT_SETTLE if one_shot else 0.0)
        self._cluster: tuple[Step, ...] = (*CLUSTER_STEPS, ("coredns_metrics", self._metrics))
        self._steps: tuple[Step, ...] = self._cluster + self._inventory
        self.removed: CorefileRemoved = lambda: ()
        """CoreDNS endpoints that left the EndpointSlices recently (set from discovery's watch)."""
        self._guard = threading.Lock()
        """Shared with the readers: clearing on a lost Lease and storing a reading never interleave."""
        api = ClusterApi(k8s)
        self.elector = None if one_shot else LeaderElector(api, k8s.lease, status, on_change=self._on_change)
        self._readers = Readers(
            Context(api, k8s, self.state, home=k8s.namespace), status, self.leading, self._guard
        )
        self._read_once = asyncio.Event()
        self._reads: set[asyncio.Task[None]] = set()
        self._jobs = (
            Job("cluster", k8s.interval, self._read_cluster),
            Job("inventory", k8s.inventory_interval, self._read_inventory),
        )

    def leading(self) -> bool:
        return self.elector is None or self.elector.leading

    def readings(self) -> ClusterReadings:
        if not self.leading():
            return ClusterReadings(leader=False)
        return self.state.snapshot(removed=self.removed())

    def forward_servers(self) -> tuple[Server, ...]:
        """The Corefile's share of ``upstream: auto``: the IP targets of its catch-all ``forward``
        (kube-dns's ``upstreamNameservers`` where kube-dns serves)."""
        readings = self._forwarding()
        servers = list(corefile_forward_servers(readings.corefile) if readings.corefile else ())
        kube_dns = readings.kube_dns if readings.kube_dns_serves else None
        if kube_dns is not None:
            servers += (s for s in kube_dns.upstream_servers() if s not in servers)
        return tuple(servers)

    def forward_zones(self) -> tuple[ZoneTarget, ...]:
        """The conditional forwarders (Corefile stub domains, kube-dns ``stubDomains``), with their zones."""
        readings = self._forwarding()
        corefile = corefile_forward_zones(readings.corefile) if readings.corefile else ()
        kube_dns = readings.kube_dns if readings.kube_dns_serves else None
        stubs = kube_dns.zone_targets() if kube_dns is not None else ()
        return bounded((*corefile, *stubs))

    def _forwarding(self) -> ClusterReadings:
        """The readings, once the Corefile is read, or kube-dns's ConfigMap where kube-dns serves (a
        ConfigMap left behind by a move to CoreDNS is read and shown, never forwarded to)."""
        readings = self.readings()
        if not readings.leader:
            raise RuntimeError("a standby does not read the Corefile")
        if readings.corefile is None and not readings.kube_dns_serves:
            raise RuntimeError(f"Corefile not read: {readings.errors.get('corefile', 'waiting for the API')}")
        return readings

    def part(self) -> Part:
        return Part(
            jobs=self._jobs,
            tasks=(self.elector.run,) if self.elector is not None else (),
            before_round=(self._wait_first_read,),
            leading=self.leading,
            cluster=self.readings,
        )

    def relocate(self, location: DnsLocation | None) -> None:
        """Read where discovery located the cluster DNS (its namespace, Service, selector, Corefile);
        at once if a read was skipped or read elsewhere before. ``None``: the API failed before
        anything was located; read the configured names (and fail as data)."""
        k8s = location.applied(self._k8s) if location is not None else self._readers.k8s
        if self._located and k8s == self._readers.k8s:
            return
        again = self._skipped or self._located
        self._readers.relocate(k8s)
        self._located, self._skipped = True, False
        if again and self.leading():
            self._read_now()

    async def _read_cluster(self) -> None:
        if not self._located:
            self._skipped = True
            return
        if await self._readers.run(self._cluster):
            self._read_once.set()

    async def _read_inventory(self) -> None:
        if not self._located:
            self._skipped = True
            return
        await self._readers.run(self._inventory)

    def _read_now(self) -> None:
        loop = asyncio.get_running_loop()
        for read in (self._read_cluster, self._read_inventory):
            task = loop.create_task(read(), name=f"{read.__name__}-now")
            self._reads.add(task)  # held until done: the loop keeps only weak references to tasks
            task.add_done_callback(self._reads.discard)

    async def _wait_first_read(self) -> None:
        """Before a round on the leader: wait (bounded) for the first read of the cluster."""
        if self.leading() and not self._read_once.is_set():
            try:
                await asyncio.wait_for(self._read_once.wait(), self._timeout)
            except TimeoutError:
                return

    def _on_change(self, leading: bool) -> None:
        if leading:  # a new leader reads the cluster at once, not at the jobs' next scheduled runs
            self._read_once.clear()
            self._read_now()
            return
        with self._guard:
            self.state.clear()
            self._metrics.tracker.clear()
            for name, _ in self._steps:
                self._status.forget(name)
