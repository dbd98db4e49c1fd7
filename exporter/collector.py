"""The one custom collector behind /metrics: renders current state into fresh families.

Probe series come from :class:`~exporter.state.ProbeState`, causes from the
latest diagnosis, and scrape-time collectors (cheap reads of host files) run
here, each timed, with its outcome in ``k8s_dns_collector_success``. A
collector that raises is reported and skipped; the scrape still succeeds.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

import structlog
from prometheus_client.core import Metric

from exporter import __version__, metrics
from exporter.causes import CAUSES
from exporter.config import Config
from exporter.diagnosis.engine import Findings
from exporter.state import ProbeState, ProbeView
from exporter.status import Status

log = structlog.get_logger(__name__)


class NoData(Exception):
    """The collector's source is absent here (a kernel module not loaded, a file not present)."""


class ScrapeCollector(Protocol):
    """A collector that reads its source at scrape time."""

    name: str

    def collect(self) -> Iterable[Metric]: ...


class ExporterCollector:
    def __init__(
        self,
        *,
        config: Callable[[], Config],
        probes: ProbeState,
        findings: Findings,
        status: Status,
        scrape_collectors: Sequence[ScrapeCollector] = (),
        renderers: Sequence[Callable[[], Iterable[Metric]]] = (),
    ) -> None:
        self._config = config
        self._probes = probes
        self._findings = findings
        self._status = status
        self._scrape = list(scrape_collectors)
        self._renderers = renderers
        self._quiet: set[str] = set()

    def collect(self) -> Iterator[Metric]:
        config = self._config()
        build = metrics.BUILD_INFO.gauge()
        build.add_metric([__version__, platform.python_version(), config.mode], 1)
        yield build
        yield from render_probes(self._probes.view(), config.interval)
        for collector in self._scrape:
            yield from self._run(collector)
        for render in self._renderers:
            yield from render()
        yield from self._render_status()
        yield from self._render_causes()

    def _run(self, collector: ScrapeCollector) -> Iterator[Metric]:
        started = time.perf_counter()
        try:
            families = list(collector.collect())
        except NoData as exc:
            if collector.name not in self._quiet:
                log.debug("collector_no_data", collector=collector.name, reason=str(exc))
                self._quiet.add(collector.name)
            self._status.record(
                collector.name, ok=False, duration=time.perf_counter() - started, error=str(exc)
            )
            return
        except Exception as exc:  # noqa: BLE001 - one broken collector must not fail the scrape
            log.warning(
                "collector_failed", collector=collector.name, error=str(exc), error_type=type(exc).__name__
            )
            self._status.record(
                collector.name, ok=False, duration=time.perf_counter() - started, error=str(exc)
            )
            return
        self._quiet.discard(collector.name)
        self._status.record(collector.name, ok=True, duration=time.perf_counter() - started)
        yield from families

    def _render_status(self) -> Iterator[Metric]:
        success = metrics.COLLECTOR_SUCCESS.gauge()
        duration = metrics.COLLECTOR_DURATION.gauge()
        for name, run in sorted(self._status.runs().items()):
            success.add_metric([name], 1.0 if run.ok else 0.0)
            duration.add_metric([name], run.duration)
        yield success
        yield duration
        ok = metrics.CONFIG_RELOAD_OK.gauge()
        ok.add_metric([], 1.0 if self._status.config_ok else 0.0)
        yield ok
        loaded = metrics.CONFIG_RELOAD_TIME.gauge()
        loaded.add_metric([], self._status.config_loaded_at)
        yield loaded

    def _render_causes(self) -> Iterator[Metric]:
        active = {f.cause for f in self._findings.get()}
        family = metrics.CAUSE_ACTIVE.gauge()
        for cause in CAUSES.values():
            family.add_metric([cause.id, cause.severity], 1.0 if cause.id in active else 0.0)
        yield family
        disagreement = metrics.UPSTREAM_DISAGREEMENT.gauge()
        for comparison in self._findings.comparisons():
            disagreement.add_metric([comparison.name, comparison.qtype], 1.0 if comparison.disagree else 0.0)
        yield disagreement


def render_probes(view: ProbeView, interval: float) -> Iterator[Metric]:
    """The probe families, from one consistent view of the probe state."""
    success = metrics.PROBE_SUCCESS.gauge()
    probes = metrics.PROBES.counter()
    failures = metrics.PROBE_FAILURES.counter()
    answers = metrics.PROBE_ANSWERS.gauge()
    lookups = metrics.RESOLVER_QUERIES.gauge()
    targets: dict[str, set[str]] = {}
    for key, series in sorted(view.series.items()):
        labels = list(key)
        last = series.last
        probes.add_metric(labels, series.probes)
        for reason, count in sorted(series.failures.items()):
            failures.add_metric([*labels, str(reason)], count)
        if last is not None:
            success.add_metric(labels, 1.0 if last.ok else 0.0)
            if last.rcode is not None:
                answers.add_metric(labels, last.answer_count)
            if last.path == "resolver":
                lookups.add_metric([last.server, last.name, last.qtype], last.queries)
        targets.setdefault(key[0], set()).add(key[1])
    yield from (success, probes, failures, answers, lookups)
    yield from _resolver_conf(view)
    duration = metrics.PROBE_DURATION.histogram()
    for (path, server, transport), histogram in sorted(view.histograms.items()):
        duration.add_metric([path, server, transport], histogram.cumulative(), histogram.total)
    yield duration
    per_path = metrics.PROBE_TARGETS.gauge()
    for path, servers in sorted(targets.items()):
        per_path.add_metric([path], len(servers))
    yield per_path
    sent = metrics.QUERIES_SENT.counter()
    for (path, transport), total in sorted(view.queries_sent.items()):
        sent.add_metric([path, transport], total)
    yield sent
    yield from _race_families(view)
    yield from _round_families(view, interval)


def _resolver_conf(view: ProbeView) -> Iterator[Metric]:
    family = metrics.RESOLVER_CONF.gauge()
    targets = view.rounds[-1].targets if view.rounds else None
    if targets is not None and targets.resolver is not None:
        resolver, conf = targets.resolver
        family.add_metric(
            [
                resolver.file,
                ",".join(conf.nameservers),
                ",".join(conf.search),
                str(conf.ndots),
                " ".join(conf.options),
            ],
            1.0,
        )
    yield family


def _race_families(view: ProbeView) -> Iterator[Metric]:
    probes = metrics.RACE_PROBES.counter()
    lost = metrics.RACE_LOST.counter()
    sequential = metrics.RACE_SEQUENTIAL_LOST.counter()
    for (path, server, name), series in sorted(view.races.items()):
        probes.add_metric([path, server, name], series.probes)
        for qtype, count in series.lost.items():
            lost.add_metric([path, server, name, qtype], count)
        for qtype, count in series.sequential_lost.items():
            sequential.add_metric([path, server, name, qtype], count)
    yield from (probes, lost, sequential)


def _round_families(view: ProbeView, interval: float) -> Iterator[Metric]:
    if view.last_round_end is not None and view.last_round_duration is not None:
        last = metrics.LAST_RUN.gauge()
        last.add_metric([], view.last_round_end)
        yield last
        took = metrics.ROUND_DURATION.gauge()
        took.add_metric([], view.last_round_duration)
        yield took
    rounds = metrics.ROUNDS.counter()
    rounds.add_metric([], view.rounds_total)
    yield rounds
    skipped = metrics.ROUNDS_SKIPPED.counter()
    skipped.add_metric([], view.rounds_skipped)
    yield skipped
    configured = metrics.INTERVAL.gauge()
    configured.add_metric([], interval)
    yield configured
