"""The node's scrape-time collectors: each reads its files on every scrape and renders fresh families.

A source that is absent on this node (no conntrack module, no PSI, no
systemd-resolved and no /etc/resolv.conf) raises ``NoData``: the framework sets
``k8s_dns_collector_success{collector}`` to 0 and logs it once at debug. A
corrupt file raises its parse error: success 0 and a warning. Neither renders
a number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import Metric

from exporter import metrics
from exporter.collector import NoData
from exporter.node import sources
from exporter.node.conntrack import ConntrackStats
from exporter.node.cpu import CpuTimes
from exporter.node.paths import NodePaths
from exporter.node.resolv_conf import NodeResolvConf
from exporter.node.snmp import NetStats


class NodeCollector:
    """One node source (``name`` is its ``collector`` label) and how it renders."""

    def __init__(self, name: str, paths: Callable[[], NodePaths]) -> None:
        self.name = name
        self._paths = paths
        self._render = _RENDERERS[name]

    def collect(self) -> Iterator[Metric]:
        try:
            value = sources.READERS[self.name](self._paths())
        except OSError as exc:
            if sources.is_absent(exc):
                raise NoData(sources.describe(exc)) from None
            raise
        return self._render(value)


def node_collectors(paths: Callable[[], NodePaths]) -> list[NodeCollector]:
    return [NodeCollector(name, paths) for name in sources.READERS]


def _gauge(spec: metrics.MetricSpec, value: float) -> Metric:
    family = spec.gauge()
    family.add_metric([], value)
    return family


def _counter(spec: metrics.MetricSpec, value: float) -> Metric:
    family = spec.counter()
    family.add_metric([], value)
    return family


def render_conntrack(stats: ConntrackStats) -> Iterator[Metric]:
    """``k8s_dns_node_conntrack_entries 49``, ``..._entries_limit 262144``, ``..._insert_failed_total 3``,
    ``..._drop_total 0``, ``..._early_drop_total 0``, ``..._clash_resolve_total 5``."""
    yield _gauge(metrics.NODE_CONNTRACK_ENTRIES, stats.entries)
    if stats.limit is not None:
        yield _gauge(metrics.NODE_CONNTRACK_LIMIT, stats.limit)
    yield _counter(metrics.NODE_CONNTRACK_INSERT_FAILED, stats.insert_failed)
    yield _counter(metrics.NODE_CONNTRACK_DROP, stats.drop)
    yield _counter(metrics.NODE_CONNTRACK_EARLY_DROP, stats.early_drop)
    if stats.clash_resolve is not None:
        yield _counter(metrics.NODE_CONNTRACK_CLASH_RESOLVE, stats.clash_resolve)


def render_net(stats: NetStats) -> Iterator[Metric]:
    """``k8s_dns_node_udp_in_errors_total 0``, ``..._udp_receive_buffer_errors_total 0``, ..."""
    yield _counter(metrics.NODE_UDP_IN_ERRORS, stats.udp_in_errors)
    yield _counter(metrics.NODE_UDP_RCVBUF_ERRORS, stats.udp_receive_buffer_errors)
    yield _counter(metrics.NODE_UDP_SNDBUF_ERRORS, stats.udp_send_buffer_errors)
    yield _counter(metrics.NODE_UDP_NO_PORTS, stats.udp_no_ports)
    yield _counter(metrics.NODE_TCP_RETRANS, stats.tcp_retransmitted_segments)


def render_cpu(times: CpuTimes) -> Iterator[Metric]:
    """``k8s_dns_node_cpu_seconds_total{mode="user"} 264.11``, one series per mode."""
    family = metrics.NODE_CPU_SECONDS.counter()
    for mode, seconds in times.seconds.items():
        family.add_metric([mode], seconds)
    yield family


def render_pressure(seconds: float) -> Iterator[Metric]:
    """``k8s_dns_node_cpu_pressure_seconds_total 13.779973``."""
    yield _counter(metrics.NODE_CPU_PRESSURE, seconds)


def render_resolv_conf(node: NodeResolvConf) -> Iterator[Metric]:
    """``k8s_dns_node_resolv_conf_info{file="/etc/resolv.conf",nameservers="10.0.0.2,168.63.129.16",...} 1``,
    its mtime, and ``k8s_dns_node_resolv_conf_azure_dns_mixed 1``."""
    info = metrics.NODE_RESOLV_CONF_INFO.gauge()
    conf = node.conf
    info.add_metric([node.file, ",".join(conf.nameservers), ",".join(conf.search), ",".join(conf.options)], 1)
    yield info
    modified = metrics.NODE_RESOLV_CONF_MODIFIED.gauge()
    modified.add_metric([node.file], node.modified)
    yield modified
    yield _gauge(metrics.NODE_RESOLV_CONF_AZURE_MIXED, 1.0 if node.azure_dns_mixed else 0.0)


_RENDERERS: dict[str, Callable[[Any], Iterator[Metric]]] = {
    sources.CONNTRACK: render_conntrack,
    sources.SNMP: render_net,
    sources.CPU: render_cpu,
    sources.PRESSURE: render_pressure,
    sources.RESOLV_CONF: render_resolv_conf,
}
