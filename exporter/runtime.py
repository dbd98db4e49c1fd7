"""The running exporter's parts, wired once per config: targets, prober, state, diagnosis.

``serve`` schedules :meth:`Runtime.probe_round`; ``doctor`` calls it once. Both
read the same state through :meth:`Runtime.report` and the same collector,
so /metrics, /diagnose and ``doctor`` can never disagree.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from prometheus_client import CollectorRegistry

from exporter.collector import ExporterCollector, ScrapeCollector
from exporter.config import Config
from exporter.diagnosis import Findings, Observations, diagnose, upstream_comparisons
from exporter.node import NodePaths
from exporter.node.wiring import attach_node
from exporter.probe.engine import Prober, Round
from exporter.probe.result import Reason
from exporter.report import build_report
from exporter.state import ProbeState
from exporter.status import Status
from exporter.targets import TargetSources
from exporter.targets.discovery import node_discovery

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


class Runtime:
    def __init__(self, config: Config, *, status: Status | None = None) -> None:
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
        self._failing: dict[tuple[str, str, str, str, str], Reason | None] = {}
        self.apply(config)
        if config.mode == "node":  # the cluster instance has no host mounts: its /proc is its own
            attach_node(self)

    def apply(self, config: Config) -> None:
        """Use ``config`` from the next round on (start-up and SIGHUP reload)."""
        self.config = config
        self.node_paths = NodePaths(config.node.procfs, config.node.rootfs)
        self.sources = TargetSources(config, discovery=node_discovery(lambda: self.node_paths))
        self.prober = Prober(config)

    async def probe_round(self) -> Round:
        """Probe every target once, record the results and diagnose."""
        started = time.perf_counter()
        targets = self.sources.current()
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
        return build_report(
            results=latest.results if latest else (),
            findings=self.findings.get(),
            collectors=self.status.runs(),
            source_errors=latest.source_errors if latest else {},
            node=node.as_dict() if node is not None else None,
            cluster=cluster.as_dict() if cluster is not None else None,
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
