"""The running exporter: its parts, the probe round, the state it accumulates and the snapshot of it.

A :class:`Runtime` is built by the composition root (``exporter.compose.build``)
from the parts a config needs; it knows no mode. ``serve`` schedules
:meth:`Runtime.probe_round` and the parts' jobs; ``doctor`` runs each once. Both
render the same :meth:`Runtime.snapshot`, so /metrics, /diagnose and ``doctor``
can never disagree.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

import structlog
from prometheus_client import CollectorRegistry

from exporter.config import AUTO, Config, Server
from exporter.diagnosis.engine import Findings, diagnose, upstream_comparisons
from exporter.diagnosis.model import DnsPlace, Observations
from exporter.diagnosis.stats import Stats
from exporter.exposition import Collector
from exporter.hops import Hop
from exporter.part import Job, Part
from exporter.probe.engine import Prober, Round
from exporter.probe.result import Reason
from exporter.report import Report, build_report
from exporter.snapshot import Snapshot
from exporter.state import ProbeState
from exporter.status import Status
from exporter.targets import TargetSet, TargetSources, compose
from exporter.targets.plan import Plan, plan
from exporter.targets.selection import share

log = structlog.get_logger(__name__)
_T = TypeVar("_T")


def _latest(sources: Sequence[Callable[[], _T | None]]) -> _T | None:
    """The readings of the first part that has readings of this kind, if any part has."""
    return sources[0]() if sources else None


def _auto(config: Config) -> frozenset[str]:
    return frozenset(p for p, spec in config.paths.direct().items() if spec == AUTO)


class Runtime:
    def __init__(
        self,
        config: Config,
        parts: Sequence[Part] = (),
        status: Status | None = None,
        *,
        node: str | None = None,
    ) -> None:
        """``node``: where this agent runs (``$NODE_NAME``): its own CoreDNS pod is probed every round."""
        self.node = node
        self._round_index = 0
        """Rounds run: the rotations' position."""
        self.status = status or Status()
        self.probes = ProbeState()
        self.findings = Findings()
        self.parts = tuple(parts)
        self.jobs: tuple[Job, ...] = tuple(job for part in self.parts for job in part.jobs)
        """Scheduled besides the probe round."""
        self.tasks: tuple[Callable[[], Coroutine[Any, Any, None]], ...] = tuple(
            task for part in self.parts for task in part.tasks
        )
        """Long-running coroutines (API watches, the Lease) that ``serve`` starts and cancels at stop."""
        self._before: tuple[Callable[[], Awaitable[None]], ...] = tuple(
            hook for part in self.parts for hook in part.before_round
        )
        self._after = tuple(hook for part in self.parts for hook in part.after_round)
        self._leading = tuple(part.leading for part in self.parts if part.leading is not None)
        self._discover = compose(*(part.discover for part in self.parts if part.discover is not None))
        self._zones = next((part.zones for part in self.parts if part.zones is not None), None)
        self._node = [part.node for part in self.parts if part.node is not None]
        self._cluster = [part.cluster for part in self.parts if part.cluster is not None]
        self._discovery = [part.discovery for part in self.parts if part.discovery is not None]
        self._vantage = [part.vantage for part in self.parts if part.vantage is not None]
        self._failing: dict[tuple[str, str, str, str, str], Reason | None] = {}
        self._planned: tuple[Config, Mapping[str, tuple[Server, ...]], object, object, Plan] | None = None
        self.config = config
        self.apply(config, first=True)

    def apply(self, config: Config, *, first: bool = False) -> None:
        """Use ``config`` from the next round on (start-up and SIGHUP reload)."""
        if not first and (
            config.kubernetes != self.config.kubernetes
            or config.mode != self.config.mode
            or _auto(config) != _auto(self.config)
        ):
            log.warning(
                "kubernetes_config_changed", note="changes to kubernetes, mode and auto paths take a restart"
            )
        self.config = config
        configured = {hop for hop, spec in config.paths.direct().items() if spec != ()}
        if config.paths.resolver is not None:
            configured.add(Hop.RESOLVER)
        self._configured = frozenset(configured)
        """Hops the config sets up (one with no servers still counts: it is expected to answer)."""
        self.probes.keep(config.diagnosis.window)
        for part in self.parts:
            if part.apply is not None:
                part.apply(config)
        self.sources = TargetSources(config, discovery=self._discover, zones=self._zones)
        self.prober = Prober(config)

    def _plan(self, targets: TargetSet) -> Plan:
        """The round's plan; the same config, targets and reasons as last round make the same plan."""
        last = self._planned
        if (
            last is None
            or last[0] is not self.config
            or last[1] != targets.servers
            or last[2] != targets.resolver
            or last[3] != (targets.zones, targets.reasons)
        ):
            last = self._planned = (
                self.config,
                targets.servers,
                targets.resolver,
                (targets.zones, targets.reasons),
                plan(self.config, targets),
            )
        return last[4]

    def _select(self, targets: TargetSet) -> TargetSet:
        """The round's share of the CoreDNS pods (``pods_per_round``, its own node's pod first) and of
        the upstreams (``upstreams_per_round``)."""
        index = self._round_index
        self._round_index += 1
        placement = {}
        if targets.servers.get(Hop.POD):
            discovery = _latest(self._discovery)
            placement = {e.server: e.node for e in discovery.endpoints} if discovery is not None else {}
        return share(targets, self.config, index, placement=placement, node=self.node)

    def leading(self) -> bool:
        """False on a cluster-mode standby: its rounds probe nothing, so only the leader reports."""
        return all(leading() for leading in self._leading)

    async def probe_round(self) -> Round:
        """Probe every target once, record the results and diagnose."""
        started = time.perf_counter()
        for wait in self._before:
            await wait()
        targets = self._select(self.sources.current() if self.leading() else TargetSet(servers={}))
        for source, error in targets.errors.items():
            log.warning("target_source_failed", source=source, error=error)
        self.status.record(
            "targets",
            ok=not targets.errors,
            duration=0.0,
            error="; ".join(f"{s}: {e}" for s, e in sorted(targets.errors.items())) or None,
        )
        round_ = await self.prober.run(self._plan(targets), targets)
        self.probes.record(round_)
        self.status.record("probe", ok=True, duration=round_.duration)
        for hook in self._after:
            try:
                hook(round_)
            except Exception as exc:  # noqa: BLE001 - a failing reader must not stop probing
                log.warning(
                    "round_hook_failed", hook=getattr(hook, "__qualname__", repr(hook)), error=str(exc)
                )
        observations = self.observations()
        stats = Stats(observations.rounds, observations.names)
        self.findings.set(
            diagnose(observations, runbook_base=self.config.diagnosis.runbook_url, stats=stats),
            upstream_comparisons(observations, stats=stats),
        )
        self._log_round(round_, time.perf_counter() - started)
        return round_

    def observations(self) -> Observations:
        rounds = self.probes.rounds()[-self.config.diagnosis.window :]
        return Observations(
            rounds=rounds,
            names=self.config.names,
            configured_paths=self._configured,
            node=_latest(self._node),
            cluster=_latest(self._cluster),
            now=time.time(),
            thresholds=self.config.diagnosis.thresholds,
            node_name=self.node,
            dns=self._dns_place(),
        )

    def _dns_place(self) -> DnsPlace:
        """The located cluster DNS, else the configured one."""
        k8s = self.config.kubernetes
        discovery = _latest(self._discovery)
        location = discovery.location if discovery is not None else None
        if location is None:
            return DnsPlace(k8s.namespace, k8s.service, k8s.pod_selector)
        return DnsPlace(location.namespace, location.service, location.selector or k8s.pod_selector)

    def snapshot(self) -> Snapshot:
        return Snapshot(
            config=self.config,
            probes=self.probes.view(),
            findings=self.findings.get(),
            comparisons=self.findings.comparisons(),
            status=self.status.view(),
            node=_latest(self._node),
            cluster=_latest(self._cluster),
            discovery=_latest(self._discovery),
            node_vantage=_latest(self._vantage),
        )

    def report(self) -> Report:
        return build_report(self.snapshot())

    def registry(self) -> CollectorRegistry:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(Collector(self.snapshot))
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
