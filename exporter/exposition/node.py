"""The node families, from the node readings of the last round (one sample per round, not per scrape).

A source that had no reading (absent on this node, or a corrupt file) renders
nothing; its ``k8s_dns_collector_success`` says why.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from exporter import metrics
from exporter.node.readers.conntrack import ConntrackStats
from exporter.node.readers.cpu import CpuTimes
from exporter.node.readers.netns import PodNamespaces
from exporter.node.readers.resolv_conf import NodeResolvConf
from exporter.node.readers.snmp import NetStats, UdpCounters
from exporter.node.readings import NodeReadings, PodUdpTotals


def render(readings: NodeReadings) -> Iterator[Metric]:
    if readings.conntrack is not None:
        yield from _conntrack(readings.conntrack)
    if readings.net is not None:
        yield from _net(readings.net)
    if readings.net6 is not None:
        yield from _net6(readings.net6)
    if readings.pod_namespaces is not None:
        yield from _pods(readings.pod_namespaces, readings.pod_udp)
    if readings.cpu is not None:
        yield _cpu(readings.cpu)
    if readings.cpu_pressure_seconds is not None:
        yield metrics.NODE_CPU_PRESSURE.counter(readings.cpu_pressure_seconds)
    if readings.resolv_conf is not None:
        yield from _resolv_conf(readings.resolv_conf)


def _conntrack(stats: ConntrackStats) -> Iterator[Metric]:
    """``k8s_dns_node_conntrack_entries 49``, ``..._entries_limit 262144``, ``..._insert_failed_total 3``,
    ``..._drop_total 0``, ``..._early_drop_total 0``, ``..._clash_resolve_total 5``."""
    yield metrics.NODE_CONNTRACK_ENTRIES.gauge(stats.entries)
    if stats.limit is not None:
        yield metrics.NODE_CONNTRACK_LIMIT.gauge(stats.limit)
    yield metrics.NODE_CONNTRACK_INSERT_FAILED.counter(stats.insert_failed)
    yield metrics.NODE_CONNTRACK_DROP.counter(stats.drop)
    yield metrics.NODE_CONNTRACK_EARLY_DROP.counter(stats.early_drop)
    if stats.clash_resolve is not None:
        yield metrics.NODE_CONNTRACK_CLASH_RESOLVE.counter(stats.clash_resolve)


def _net(stats: NetStats) -> Iterator[Metric]:
    """``k8s_dns_node_udp_in_errors_total 0``, ``..._udp_receive_buffer_errors_total 0``, ..."""
    yield metrics.NODE_UDP_IN_ERRORS.counter(stats.udp_in_errors)
    yield metrics.NODE_UDP_RCVBUF_ERRORS.counter(stats.udp_receive_buffer_errors)
    yield metrics.NODE_UDP_SNDBUF_ERRORS.counter(stats.udp_send_buffer_errors)
    yield metrics.NODE_UDP_NO_PORTS.counter(stats.udp_no_ports)
    yield metrics.NODE_TCP_RETRANS.counter(stats.tcp_retransmitted_segments)


def _net6(udp6: UdpCounters) -> Iterator[Metric]:
    """``k8s_dns_node_udp6_in_errors_total 0``, ``..._udp6_receive_buffer_errors_total 0``, ..."""
    yield metrics.NODE_UDP6_IN_ERRORS.counter(udp6.in_errors)
    yield metrics.NODE_UDP6_RCVBUF_ERRORS.counter(udp6.receive_buffer_errors)
    yield metrics.NODE_UDP6_SNDBUF_ERRORS.counter(udp6.send_buffer_errors)
    yield metrics.NODE_UDP6_NO_PORTS.counter(udp6.no_ports)


def _pods(pods: PodNamespaces, totals: PodUdpTotals | None) -> Iterator[Metric]:
    """``k8s_dns_node_pod_network_namespaces{state="read"} 12``, and once two readings were taken,
    ``k8s_dns_node_pod_udp_receive_buffer_errors_total 299``."""
    family = metrics.NODE_POD_NAMESPACES.gauge()
    family.add_metric(["read"], len(pods.namespaces))
    family.add_metric(["failed"], pods.failed)
    family.add_metric(["skipped"], pods.skipped)
    yield family
    if totals is not None:
        yield metrics.NODE_POD_UDP_IN_ERRORS.counter(totals.in_errors)
        yield metrics.NODE_POD_UDP_RCVBUF_ERRORS.counter(totals.receive_buffer_errors)


def _cpu(times: CpuTimes) -> Metric:
    """``k8s_dns_node_cpu_seconds_total{mode="user"} 264.11``, one series per mode."""
    family = metrics.NODE_CPU_SECONDS.counter()
    for mode, seconds in times.seconds.items():
        family.add_metric([mode], seconds)
    return family


def _resolv_conf(node: NodeResolvConf) -> Iterator[Metric]:
    """``k8s_dns_node_resolv_conf_info{file="/etc/resolv.conf",nameservers="10.0.0.2,168.63.129.16",...} 1``,
    its mtime, and ``k8s_dns_node_resolv_conf_azure_dns_mixed 1``."""
    info = metrics.NODE_RESOLV_CONF_INFO.gauge()
    conf = node.conf
    info.add_metric([node.file, ",".join(conf.nameservers), ",".join(conf.search), ",".join(conf.options)], 1)
    yield info
    modified = metrics.NODE_RESOLV_CONF_MODIFIED.gauge()
    modified.add_metric([node.file], node.modified)
    yield modified
    yield metrics.NODE_RESOLV_CONF_AZURE_MIXED.gauge(1.0 if node.azure_dns_mixed else 0.0)
