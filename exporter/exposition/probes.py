"""The probe families, from one consistent view of the probe state."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from exporter import metrics
from exporter.hops import Hop
from exporter.state import ProbeView


def render(view: ProbeView, interval: float) -> Iterator[Metric]:
    """``k8s_dns_probe_success{path,server,name,qtype,transport}``, its counters, answers and latency
    histogram, what each hop probed, the queries sent, the race probes and the rounds."""
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
            if last.path == Hop.RESOLVER:
                lookups.add_metric([last.server, last.name, last.qtype], last.queries)
        targets.setdefault(key[0], set()).add(key[1])
    yield from (success, probes, failures, answers, lookups)
    yield _resolver_conf(view)
    duration = metrics.PROBE_DURATION.histogram()
    for (path, server), histogram in sorted(view.histograms.items()):
        duration.add_metric([path, server], histogram.cumulative(), histogram.total)
    yield duration
    connect = metrics.TCP_CONNECT.summary()
    for path, (count, seconds) in sorted(view.connects.items()):
        connect.add_metric([path], count, seconds)
    yield connect
    per_path = metrics.PROBE_TARGETS.gauge()
    for path, servers in sorted(targets.items()):
        per_path.add_metric([path], len(servers))
    yield per_path
    yield from _plan(view)
    sent = metrics.QUERIES_SENT.counter()
    for (path, transport), total in sorted(view.queries_sent.items()):
        sent.add_metric([path, transport], total)
    yield sent
    yield from _races(view)
    yield from _rounds(view, interval)


def _plan(view: ProbeView) -> Iterator[Metric]:
    """``k8s_dns_planned_queries{path}`` and ``k8s_dns_targets_known{path}`` of the last round."""
    latest = view.rounds[-1] if view.rounds else None
    planned = metrics.PLANNED_QUERIES.gauge()
    known = metrics.TARGETS_KNOWN.gauge()
    if latest is not None and latest.plan is not None:
        for share in latest.plan.paths():
            planned.add_metric([share.path], share.queries)
    if latest is not None and latest.targets is not None:
        for path, servers in sorted(latest.targets.servers.items()):
            known.add_metric([path], latest.targets.known.get(path, len(servers)))
    yield from (planned, known)


def _resolver_conf(view: ProbeView) -> Metric:
    """``k8s_dns_resolver_conf_info{file,nameservers,search,ndots,options} 1`` of the last round."""
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
    return family


def _races(view: ProbeView) -> Iterator[Metric]:
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


def _rounds(view: ProbeView, interval: float) -> Iterator[Metric]:
    if view.last_round_end is not None and view.last_round_duration is not None:
        yield metrics.LAST_RUN.gauge(view.last_round_end)
        yield metrics.ROUND_DURATION.gauge(view.last_round_duration)
    yield metrics.ROUNDS.counter(view.rounds_total)
    yield metrics.ROUNDS_SKIPPED.counter(view.rounds_skipped)
    yield metrics.INTERVAL.gauge(interval)
