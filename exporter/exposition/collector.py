"""The one custom collector behind /metrics: every family, rendered from one snapshot per scrape."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import Metric

from exporter.exposition import cluster, node, own, probes
from exporter.snapshot import Snapshot
from exporter.vantage import splits


class Collector:
    """``collect()`` takes one snapshot and renders it: the exporter, probes, node, discovery, cluster."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snapshot()
        yield own.build_info(snap.config.mode, snap.config.vantage)
        yield from probes.render(snap.probes, snap.config.interval)
        if snap.node is not None:
            yield from node.render(snap.node)
        if snap.discovery is not None:
            yield from cluster.render_discovery(snap.discovery, snap.config)
        if snap.cluster is not None:
            yield from cluster.render(snap.cluster)
        if snap.node_vantage is not None:
            yield own.render_splits(splits(snap.probes.rounds, snap.node_vantage))
        yield from own.render_status(snap.status)
        yield from own.render_causes(snap.findings, snap.comparisons)
