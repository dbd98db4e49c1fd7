"""The running exporter's parts, wired once per config: targets, prober, state, diagnosis.

``serve`` schedules :meth:`Runtime.probe_round`; ``doctor`` calls it once. Both
read the same state through :meth:`Runtime.report` and the same collector,
so /metrics, /diagnose and ``doctor`` can never disagree.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric

from exporter.collector import ExporterCollector, ScrapeCollector
from exporter.config import Config
from exporter.diagnosis.engine import Findings, diagnose, upstream_comparisons
from exporter.diagnosis.model import Observations
from exporter.node import NodePaths
from exporter.node.wiring import attach_node
from exporter.probe.engine import Prober, Round
from exporter.probe.result import Reason
from exporter.report import build_report
from exporter.state import ProbeState
from exporter.status import Status
from exporter.targets import Discovery, TargetSet, TargetSources, compose
from exporter.targets.node_upstreams import node_discovery

log = structlog.get_logger(__name__)


class Readings(Protocol):
    """What a reader hands to diagnosis and /diagnose (node readings, cluster readings)."""

    def as_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Job:
    """Work that runs on its own schedule besides the probe round (e.g. cluster readers).

    ``serve`` schedules it (no overlapping runs, jittered); ``doctor`` runs it once,
    before the probe round. A job records its own ``collector_success``.
    """

    name: str
    interval: float
    run: Callable[[], Awaitable[None]]


def _auto(config: Config) -> frozenset[str]:
    return frozenset(p for p, spec in config.paths.direct().items() if spec == "auto")


class Runtime:
    def __init__(self, config: Config, *, status: Status | None = None, one_shot: bool = False) -> None:
        """``one_shot`` (``doctor``): one pass, so no API watches and no leader election."""
        self.status = status or Status()
        self.probes = ProbeState()
        self.findings = Findings()
        self.scrape_collectors: list[ScrapeCollector] = []
        """Collectors read at scrape time (cheap host files)."""
        self.jobs: list[Job] = []
        """Scheduled besides the probe round."""
        self.tasks: list[Callable[[], Coroutine[Any, Any, None]]] = []
        """Long-running coroutines (API watches) that ``serve`` starts and cancels at stop."""
        self.readings: dict[str, Callable[[], Readings | None]] = {}
        """``"node"`` / ``"cluster"`` -> the latest readings, for diagnosis and /diagnose."""
        self.round_hooks: list[Callable[[Round], object]] = []
        """Called after each round, before it is diagnosed (e.g. the node readers take their sample)."""
        self.node_paths = NodePaths()
        self.renderers: list[Callable[[], Iterable[Metric]]] = []
        """Render state that jobs and tasks wrote (they record their own collector_success)."""
        self.before_round: list[Callable[[], Awaitable[None]]] = []
        """Awaited at the start of each round (e.g. a bounded wait for the first discovery)."""
        self.leading: Callable[[], bool] = lambda: True
        """False on a cluster-mode standby: its rounds probe nothing, so only the leader reports."""
        self._failing: dict[tuple[str, str, str, str, str], Reason | None] = {}
        from exporter.cluster.wiring import install  # noqa: PLC0415 - wiring imports Job from here

        self._discovery: Discovery | None = None
        self.config = config
        kube = install(self, config, one_shot=one_shot)
        if kube is not None:
            self._discovery = compose(kube)
        self.apply(config)
        if config.mode == "node":  # the cluster instance has no host mounts: its /proc is its own
            attach_node(self)

    def apply(self, config: Config) -> None:
        """Use ``config`` from the next round on (start-up and SIGHUP reload)."""
        if (
            config.kubernetes != self.config.kubernetes
            or config.mode != self.config.mode
            or _auto(config) != _auto(self.config)
        ):
            log.warning(
                "kubernetes_config_changed", note="changes to kubernetes, mode and auto paths take a restart"
            )
        self.config = config
        self.probes.keep(config.diagnosis.window)
        self.node_paths = NodePaths(config.node.procfs, config.node.rootfs)
        parts = [part for part in (self._discovery, node_discovery(lambda: self.node_paths)) if part]
        self.sources = TargetSources(config, discovery=compose(*parts))
        self.prober = Prober(config)

    async def probe_round(self) -> Round:
        """Probe every target once, record the results and diagnose."""
        started = time.perf_counter()
        for wait in self.before_round:
            await wait()
        targets = self.sources.current() if self.leading() else TargetSet(servers={})
        for source, error in targets.errors.items():
            log.warning("target_source_failed", source=source, error=error)
        self.status.record(
            "targets",
            ok=not targets.errors,
            duration=0.0,
            error="; ".join(f"{s}: {e}" for s, e in sorted(targets.errors.items())) or None,
        )
        round_ = await self.prober.run(targets)
        self.probes.record(round_)
        self.status.record("probe", ok=True, duration=round_.duration)
        for hook in self.round_hooks:
            try:
                hook(round_)
            except Exception as exc:  # noqa: BLE001 - a failing reader must not stop probing
                log.warning(
                    "round_hook_failed", hook=getattr(hook, "__qualname__", repr(hook)), error=str(exc)
                )
        observations = self.observations()
        self.findings.set(
            diagnose(observations, runbook_base=self.config.diagnosis.runbook_url),
            upstream_comparisons(observations),
        )
        self._log_round(round_, time.perf_counter() - started)
        return round_

    def observations(self) -> Observations:
        rounds = self.probes.view().rounds[-self.config.diagnosis.window :]
        configured = {p for p, spec in self.config.paths.direct().items() if spec != ()}
        if self.config.paths.resolver is not None:
            configured.add("resolver")
        return Observations(
            rounds=rounds,
            names=self.config.names,
            configured_paths=frozenset(configured),
            node=self._reading("node"),
            cluster=self._reading("cluster"),
            now=time.time(),
            thresholds=self.config.diagnosis.thresholds,
        )

    def _reading(self, kind: str) -> Readings | None:
        source = self.readings.get(kind)
        return source() if source is not None else None

    def report(self) -> dict[str, Any]:
        view = self.probes.view()
        latest = view.rounds[-1] if view.rounds else None
        node, cluster = self._reading("node"), self._reading("cluster")
        discovery = self._reading("discovery")
        return build_report(
            results=latest.results if latest else (),
            findings=self.findings.get(),
            collectors=self.status.runs(),
            source_errors=latest.source_errors if latest else {},
            node=node.as_dict() if node is not None else None,
            cluster=cluster.as_dict() if cluster is not None else None,
            discovery=discovery.as_dict() if discovery is not None else None,
        )

    def registry(self) -> CollectorRegistry:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(
            ExporterCollector(
                config=lambda: self.config,
                probes=self.probes,
                findings=self.findings,
                status=self.status,
                scrape_collectors=self.scrape_collectors,
                renderers=self.renderers,
            )
        )
        return registry

    def _log_round(self, round_: Round, took: float) -> None:
        """One line per round; a probe's failure is logged when it starts or changes, not every round."""
        failed = [r for r in round_.results if not r.ok]
        now = {r.key: r.reason for r in failed}
        for result in failed:
            if self._failing.get(result.key) != result.reason:
                log.warning(
                    "probe_failed",
                    path=result.path,
                    server=result.server,
                    name=result.name,
                    qtype=result.qtype,
                    transport=result.transport,
                    reason=str(result.reason),
                    detail=result.detail,
                )
        planned = {r.key for r in round_.results}
        for key in self._failing.keys() - now.keys():
            if key in planned:
                path, server, name, qtype, transport = key
                log.info(
                    "probe_recovered", path=path, server=server, name=name, qtype=qtype, transport=transport
                )
        self._failing = now
        log.info(
            "probe_round",
            probes=len(round_.results),
            failed=len(failed),
            queries=sum(r.queries for r in round_.results),
            duration_seconds=round(took, 4),
            causes=[f.cause for f in self.findings.get()],
        )
