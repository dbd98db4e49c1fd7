"""The cluster families (cluster mode) and what discovery found.

A piece the readers could not read renders nothing (its collector_success says
why); a CoreDNS pod that is gone renders nothing, because families are built
fresh from the latest readings on every scrape. A standby renders only
``k8s_dns_leader 0``: the Lease holder reports the cluster.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from exporter import metrics
from exporter.cluster.readings import ClusterReadings
from exporter.cluster.version import text
from exporter.config import AUTO, Config
from exporter.corefile.lint import PROBLEM_KINDS, WATCHED
from exporter.targets.discovery import DiscoveryReadings


def render_discovery(readings: DiscoveryReadings, config: Config) -> Iterator[Metric]:
    """``k8s_dns_discovery_targets{path="pod"} 2`` for each ``auto`` path."""
    auto = sorted(path for path, spec in config.paths.direct().items() if spec == AUTO)
    if not auto:
        return
    family = metrics.DISCOVERY_TARGETS.gauge()
    for path in auto:
        family.add_metric([path], len(readings.targets.get(path, ())))
    yield family


def render(readings: ClusterReadings) -> Iterator[Metric]:
    """``k8s_dns_leader``; on the Lease holder, CoreDNS, its usage, the Corefile, workloads and sizing."""
    yield metrics.LEADER.gauge(1.0 if readings.leader else 0.0)
    if not readings.leader:
        return
    yield from _pods(readings)
    yield from _usage(readings)
    yield from _corefile(readings)
    yield from _workloads(readings)
    yield from _capacity(readings)
    yield from _traffic(readings)
    yield from _pod_dns(readings)


def _pod_dns(readings: ClusterReadings) -> Iterator[Metric]:
    family = metrics.SAMPLED_PODS.gauge()
    sample = readings.pod_dns
    if sample is not None:
        for kind, count in (
            ("sampled", sample.sampled),
            ("cluster_first", sample.cluster_first),
            ("nodelocal", sample.nodelocal),
            ("bypassing_nodelocal", sample.bypassing_total),
            ("elsewhere", sample.elsewhere_total),
        ):
            family.add_metric([kind], count)
    yield family


def _pods(readings: ClusterReadings) -> Iterator[Metric]:
    if readings.pods is None:
        return
    info, ready = metrics.COREDNS_POD_INFO.gauge(), metrics.COREDNS_POD_READY.gauge()
    restarts = metrics.COREDNS_POD_RESTARTS.counter()
    waiting, terminated = metrics.COREDNS_POD_WAITING.gauge(), metrics.COREDNS_POD_LAST_TERMINATED.gauge()
    started = metrics.COREDNS_POD_START_TIME.gauge()
    fields = (
        (metrics.COREDNS_CPU_REQUEST, "cpu_request"),
        (metrics.COREDNS_CPU_LIMIT, "cpu_limit"),
        (metrics.COREDNS_MEMORY_REQUEST, "memory_request"),
        (metrics.COREDNS_MEMORY_LIMIT, "memory_limit"),
    )
    resources = {field: spec.gauge() for spec, field in fields}
    for pod in readings.pods:
        info.add_metric([pod.name, pod.node or "", pod.ip or "", text(pod.version)], 1.0)
        ready.add_metric([pod.name], 1.0 if pod.ready else 0.0)
        restarts.add_metric([pod.name], pod.restarts)
        if pod.waiting_reason:
            waiting.add_metric([pod.name, pod.waiting_reason], 1.0)
        if pod.last_terminated_reason:
            terminated.add_metric([pod.name, pod.last_terminated_reason], 1.0)
        if pod.start_time is not None:
            started.add_metric([pod.name], pod.start_time)
        for field, family in resources.items():
            value = getattr(pod.resources, field)
            if value is not None:
                family.add_metric([pod.name], value)
    yield from (info, ready, restarts, waiting, terminated, started, *resources.values())
    live = readings.live_pods
    yield metrics.COREDNS_REPLICAS.gauge(len(live))
    yield metrics.COREDNS_REPLICAS_READY.gauge(sum(p.ready for p in live))
    yield metrics.COREDNS_REPLICA_NODES.gauge(readings.replica_nodes)


def _usage(readings: ClusterReadings) -> Iterator[Metric]:
    if readings.service is not None:
        yield metrics.SESSION_AFFINITY.gauge(1.0 if readings.service.session_affinity == "ClientIP" else 0.0)
    if readings.usage is None:
        return
    cpu, memory = metrics.COREDNS_CPU_USAGE.gauge(), metrics.COREDNS_MEMORY_USAGE.gauge()
    for pod in readings.usage.pods:
        cpu.add_metric([pod.pod], pod.cpu_cores)
        memory.add_metric([pod.pod], pod.memory_bytes)
    node_cpu, node_memory = metrics.COREDNS_NODE_CPU.gauge(), metrics.COREDNS_NODE_MEMORY.gauge()
    for node in readings.usage.nodes:
        node_cpu.add_metric([node.node], node.cpu_ratio)
        node_memory.add_metric([node.node], node.memory_ratio)
    yield from (cpu, memory, node_cpu, node_memory)


def _corefile(readings: ClusterReadings) -> Iterator[Metric]:
    report = readings.corefile
    if report is not None:
        plugins = metrics.COREFILE_PLUGIN.gauge()
        for plugin in sorted(set(WATCHED) | report.plugins):
            plugins.add_metric([plugin], 1.0 if plugin in report.plugins else 0.0)
        problems = metrics.COREFILE_PROBLEMS.gauge()
        for kind in PROBLEM_KINDS:
            problems.add_metric([kind], report.count(kind))
        yield from (plugins, problems)
        rule = report.root_forward
        yield metrics.COREFILE_FORWARD_TARGETS.gauge(len(rule.targets) if rule else 0)
        if rule is not None:
            policy = metrics.COREFILE_FORWARD_POLICY.gauge()
            policy.add_metric([rule.policy], 1.0)
            options = metrics.COREFILE_FORWARD_OPTION.gauge()
            options.add_metric(["prefer_udp"], 1.0 if rule.prefer_udp else 0.0)
            options.add_metric(["force_tcp"], 1.0 if rule.force_tcp else 0.0)
            yield from (policy, options)
    if readings.kube_proxy_mode is not None:
        mode = metrics.KUBE_PROXY_MODE.gauge()
        mode.add_metric([readings.kube_proxy_mode], 1.0)
        yield mode


def _workloads(readings: ClusterReadings) -> Iterator[Metric]:
    counts = (
        (metrics.TOLERATE_UNREADY, len(readings.services.tolerate_unready) if readings.services else None),
        (
            metrics.STATEFULSETS_MISMATCH,
            len(readings.statefulsets) if readings.statefulsets is not None else None,
        ),
        (
            metrics.COREDNS_NETWORK_POLICIES,
            len(readings.coredns_policies) if readings.policies is not None else None,
        ),
    )
    for spec, value in counts:
        if value is not None:
            yield spec.gauge(value)


def _capacity(readings: ClusterReadings) -> Iterator[Metric]:
    if readings.inventory is not None:
        yield metrics.CLUSTER_NODES.gauge(readings.inventory.counted_nodes)
        yield metrics.CLUSTER_CPU.gauge(readings.inventory.cores)
        yield metrics.CLUSTER_PODS.gauge(readings.inventory.pods)
    if readings.services is not None:
        yield metrics.CLUSTER_SERVICES.gauge(readings.services.total)
    capacity = readings.capacity
    if capacity is None:
        return
    recommended = metrics.RECOMMENDED_REPLICAS.gauge()
    recommended.add_metric(["linear"], capacity.linear_replicas)
    if capacity.autoscaler_replicas is not None:
        recommended.add_metric(["autoscaler"], capacity.autoscaler_replicas)
    if capacity.demand is not None:
        recommended.add_metric(["demand"], capacity.demand.replicas)
    yield recommended
    yield metrics.MEMORY_RECOMMENDED.gauge(capacity.memory_recommended_bytes)
    if capacity.headroom is not None:
        utilisation = metrics.COREDNS_PEAK_UTILISATION.gauge()
        for lost, value in capacity.headroom.utilisation.items():
            if value is not None:
                utilisation.add_metric([lost], value)
        yield utilisation


def _traffic(readings: ClusterReadings) -> Iterator[Metric]:
    if readings.budgets is not None:
        budgets = metrics.COREDNS_DISRUPTIONS_ALLOWED.gauge()
        for budget in readings.coredns_budgets:
            budgets.add_metric([budget.name], budget.disruptions_allowed)
        yield budgets
    if readings.autoscaler is not None:
        info = metrics.AUTOSCALER.gauge()
        info.add_metric([readings.autoscaler.configmap or "", readings.autoscaler.mode or "none"], 1.0)
        yield info
    traffic = readings.traffic
    if traffic is None:
        return
    qps, hits = metrics.COREDNS_QPS.gauge(), metrics.COREDNS_CACHE_HIT.gauge()
    latency, forward = metrics.COREDNS_LATENCY.gauge(), metrics.COREDNS_FORWARD_LATENCY.gauge()
    per_core = metrics.COREDNS_QPS_PER_CORE.gauge()
    cpu = {u.pod: u.cpu_cores for u in readings.usage.pods} if readings.usage else {}
    for pod in traffic.pods:
        for family, value in ((qps, pod.qps), (hits, pod.cache_hit_ratio), (latency, pod.latency)):
            if value is not None:
                family.add_metric([pod.pod], value)
        if pod.qps is not None and cpu.get(pod.pod):
            per_core.add_metric([pod.pod], pod.qps / cpu[pod.pod])
        for to, seconds in sorted(pod.forward_latency.items()):
            forward.add_metric([pod.pod, to], seconds)
    yield from (qps, per_core, hits, latency, forward)
    if traffic.peak_qps is not None:
        yield metrics.COREDNS_QPS_PEAK.gauge(traffic.peak_qps)
    yield metrics.COREDNS_PEAK_WINDOW.gauge(traffic.covered)
