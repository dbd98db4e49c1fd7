"""The exporter's own families: build, collector status, config reloads, causes, upstream agreement."""

from __future__ import annotations

import platform
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import Metric

from exporter import __version__, metrics
from exporter.causes import CAUSES
from exporter.diagnosis.agreement import Comparison
from exporter.diagnosis.model import Finding
from exporter.status import StatusView
from exporter.vantage import Split


def build_info(mode: str, vantage: str) -> Metric:
    """``k8s_dns_exporter_build_info{mode="node",python_version="3.11.7",vantage="pod",version="0.1.0"}``
    with the value 1."""
    family = metrics.BUILD_INFO.gauge()
    family.add_metric([__version__, platform.python_version(), mode, vantage], 1)
    return family


def render_splits(found: Iterable[Split]) -> Metric:
    """``k8s_dns_vantage_split{name,qtype} 1`` per name failing from pods that the node resolves."""
    family = metrics.VANTAGE_SPLIT.gauge()
    for split in found:
        family.add_metric([split.name, split.qtype], 1)
    return family


def render_status(status: StatusView) -> Iterator[Metric]:
    """``k8s_dns_collector_success{collector="node_conntrack"} 1`` and its duration, per collector;
    ``k8s_dns_config_last_reload_successful 1`` and when it last succeeded."""
    success = metrics.COLLECTOR_SUCCESS.gauge()
    duration = metrics.COLLECTOR_DURATION.gauge()
    for name, run in sorted(status.runs.items()):
        success.add_metric([name], 1.0 if run.ok else 0.0)
        duration.add_metric([name], run.duration)
    yield success
    yield duration
    yield metrics.CONFIG_RELOAD_OK.gauge(1.0 if status.config_ok else 0.0)
    yield metrics.CONFIG_RELOAD_TIME.gauge(status.config_loaded_at)


def render_causes(findings: Sequence[Finding], comparisons: Sequence[Comparison]) -> Iterator[Metric]:
    """``k8s_dns_cause_active{cause="nodelocal_down",severity="warning"} 0`` for every known cause, and
    ``k8s_dns_upstream_disagreement{name="example.org.",qtype="A"} 0`` per name two upstreams answered."""
    active = {f.cause for f in findings}
    family = metrics.CAUSE_ACTIVE.gauge()
    for cause in CAUSES.values():
        family.add_metric([cause.id, cause.severity], 1.0 if cause.id in active else 0.0)
    yield family
    disagreement = metrics.UPSTREAM_DISAGREEMENT.gauge()
    for comparison in comparisons:
        disagreement.add_metric([comparison.name, comparison.qtype], 1.0 if comparison.disagree else 0.0)
    yield disagreement
