"""Causes read from the Kubernetes API (cluster mode), alone or together with the probes.

Each rule reads :class:`~exporter.cluster.readings.ClusterReadings` from
``Observations.cluster`` and does nothing without it (node mode, a standby, a
reader that failed). Where the probes see the same cause, the engine merges
both drafts into one finding.
"""

from __future__ import annotations

from collections.abc import Callable

from exporter.cluster.model import CorednsPod
from exporter.cluster.readings import ClusterReadings
from exporter.cluster.version import text
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.rules_cluster_probe import RULES as CROSS_RULES
from exporter.diagnosis.rules_cluster_probe import cluster_of
from exporter.diagnosis.stats import Stats
from exporter.probe.result import Reason

Rule = Callable[[Observations, Stats], Draft | None]

# Usage thresholds come from diagnosis.thresholds (coredns_cpu, coredns_memory, node_cpu).
RECENT_RESTART = 600.0
"""A container that terminated this recently counts as restarting now."""
STARTUP_GRACE = 90.0
"""A pod this young may not be Ready yet without anything being wrong."""
MIB = 1024 * 1024


def _ago(now: float, then: float) -> str:
    seconds = max(0.0, now - then)
    return f"{seconds:.0f}s ago" if seconds < 120 else f"{seconds / 60:.0f} min ago"


def pod_trouble(pod: CorednsPod, now: float) -> list[str]:
    """What is wrong with a CoreDNS pod right now, in words (empty: nothing)."""
    young = pod.start_time is not None and now - pod.start_time < STARTUP_GRACE
    trouble = []
    if pod.waiting_reason:
        trouble.append(f"waiting: {pod.waiting_reason}")
    if not pod.ready and (not young or pod.waiting_reason):
        trouble.append(f"not Ready (phase {pod.phase})")
    if pod.restarts and pod.last_terminated_at is not None and now - pod.last_terminated_at < RECENT_RESTART:
        reason = pod.last_terminated_reason or "unknown reason"
        trouble.append(
            f"{pod.restarts} restarts, last terminated {_ago(now, pod.last_terminated_at)} ({reason})"
        )
    return trouble


def coredns_unavailable(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.pods is None:
        return None
    pods = cluster.live_pods
    troubled = {p.name: t for p in pods if (t := pod_trouble(p, obs.now))}
    if pods and not troubled:
        return None
    evidence = tuple(
        f"pod {name} on {_node(cluster, name)}: {'; '.join(t)}" for name, t in sorted(troubled.items())
    )
    if not pods:
        evidence = ("no CoreDNS pod exists (label selector matched nothing)",)
    breaking = cluster.corefile.breaking if cluster.corefile is not None else ()
    evidence += tuple(f"Corefile: {p.message}" for p in breaking)
    serving = len(pods) - len(troubled)
    fix = (
        "Describe a failing pod and read its logs (`kubectl -n kube-system describe pod <pod>`, "
        "`kubectl -n kube-system logs <pod> --previous`): CrashLoopBackOff with a Corefile error means "
        "fixing the ConfigMap, OOMKilled means a higher memory limit, ImagePullBackOff the image."
    )
    if breaking:
        fix = (
            "Fix the Corefile problems listed (the pods cannot load it), then watch the pods restart. " + fix
        )
    return Draft(
        "coredns_unavailable",
        f"{len(troubled)} of {len(pods)} CoreDNS pods are not serving ({serving} serving).",
        evidence,
        fix,
        {"pods": {name: t for name, t in sorted(troubled.items())}},
    )


def _node(cluster: ClusterReadings, pod_name: str) -> str:
    pod = next((p for p in cluster.live_pods if p.name == pod_name), None)
    return (pod.node if pod else None) or "no node"


def coredns_overloaded(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None:
        return None
    evidence: list[str] = []
    cpu_high, memory_high = obs.thresholds.coredns_cpu, obs.thresholds.coredns_memory
    limits = {p.name: p.resources for p in cluster.live_pods}
    for usage in cluster.usage.pods if cluster.usage else ():
        resources = limits.get(usage.pod)
        if resources is None:
            continue
        if resources.cpu_limit and usage.cpu_cores / resources.cpu_limit >= cpu_high:
            evidence.append(
                f"pod {usage.pod}: CPU {usage.cpu_cores:.3f} of {resources.cpu_limit:g} cores limit "
                f"({usage.cpu_cores / resources.cpu_limit:.0%})"
            )
        if resources.memory_limit and usage.memory_bytes / resources.memory_limit >= memory_high:
            used, cap = usage.memory_bytes, resources.memory_limit
            evidence.append(
                f"pod {usage.pod}: memory {used / MIB:.0f} of {cap / MIB:.0f} MiB limit ({used / cap:.0%})"
            )
    capacity = cluster.capacity
    if capacity is not None and capacity.replicas and capacity.replicas < capacity.size_replicas:
        evidence.append(
            f"{capacity.replicas} replicas for {capacity.nodes} nodes and {capacity.cores:g} cores: the "
            f"linear formula asks for {capacity.size_replicas}"
        )
    limit = capacity.memory_limit_bytes if capacity is not None else None
    if capacity is not None and limit is not None and capacity.memory_recommended_bytes > limit:
        evidence.append(
            f"memory formula: {capacity.memory_recommended_bytes / MIB:.0f} MiB per replica for "
            f"{capacity.pods} pods and {capacity.services} Services, limit {limit / MIB:.0f} MiB"
        )
    if not evidence:
        return None
    return Draft(
        "coredns_overloaded",
        "CoreDNS is near its resource limits or runs fewer replicas than the cluster's size calls for.",
        tuple(evidence),
        "Scale CoreDNS out (or let the cluster-proportional-autoscaler do it), raise its limits to what "
        "the sizing formula gives, and consider NodeLocal DNSCache to take load off CoreDNS.",
        {"capacity": capacity.as_dict() if capacity else None},
    )


def coredns_node_overloaded(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.usage is None:
        return None
    saturated = obs.thresholds.node_cpu
    hot = [n for n in cluster.usage.nodes if max(n.cpu_ratio, n.memory_ratio) >= saturated]
    if not hot:
        return None
    return Draft(
        "coredns_node_overloaded",
        f"{len(hot)} node(s) hosting CoreDNS are saturated: {', '.join(n.node for n in hot)}.",
        tuple(
            f"node {n.node}: CPU {n.cpu_ratio:.0%}, memory {n.memory_ratio:.0%} of allocatable" for n in hot
        ),
        "Move CoreDNS off the saturated nodes (anti-affinity, a dedicated system node pool) or relieve "
        "them; spread replicas so one busy node cannot slow every lookup.",
        {"nodes": {n.node: {"cpu": n.cpu_ratio, "memory": n.memory_ratio} for n in hot}},
    )


def coredns_load_unbalanced(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None:
        return None
    evidence = []
    pods = cluster.live_pods
    if cluster.pods is not None and 0 < len(pods) < 2:
        evidence.append(f"only {len(pods)} CoreDNS replica")
    if cluster.pods is not None and len(pods) >= 2 and cluster.replica_nodes < len(pods):
        per_node: dict[str, list[str]] = {}
        for pod in pods:
            per_node.setdefault(pod.node or "unscheduled", []).append(pod.name)
        evidence += [
            f"node {n}: {len(p)} replicas ({', '.join(p)})" for n, p in sorted(per_node.items()) if len(p) > 1
        ]
    if cluster.service is not None and cluster.service.session_affinity == "ClientIP":
        evidence.append(f"Service {cluster.service.name} has sessionAffinity: ClientIP")
    if not evidence:
        return None
    return Draft(
        "coredns_load_unbalanced",
        "DNS load cannot spread evenly over CoreDNS replicas.",
        tuple(evidence),
        "Run at least two replicas on different nodes (pod anti-affinity or topology spread) and remove "
        "sessionAffinity from the kube-dns Service.",
        {},
    )


def coredns_config_error(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.corefile is None or not cluster.corefile.breaking:
        return None
    problems = cluster.corefile.breaking
    return Draft(
        "coredns_config_error",
        f"The Corefile has {len(problems)} problem(s) for CoreDNS {text(cluster.version)}.",
        tuple(f"{p.kind}: {p.message}" for p in problems),
        "Edit the coredns ConfigMap (and coredns-custom): remove or fix the lines named, check the "
        "plugins against the running CoreDNS version, then confirm the pods log a reload.",
        {"problems": [{"kind": p.kind, "message": p.message} for p in problems]},
    )


def coredns_autopath_defect(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.corefile is None or "autopath" not in cluster.corefile.plugins:
        return None
    evidence = [p.message for p in cluster.corefile.problems if p.kind == "autopath_enabled"]
    for s in stats.path("service") + stats.path("pod"):
        wrong = s.all.reasons.get(Reason.WRONG_ANSWER, 0)
        if wrong:
            evidence.append(f"{s.path} {s.server}: {wrong} wrong answer(s) in the window")
    return Draft(
        "coredns_autopath_defect",
        "The autopath plugin is enabled: it can answer with wrong records or fail now and then.",
        tuple(evidence),
        "Remove the `autopath` line from the Corefile (kubectl -n kube-system edit configmap coredns) "
        "and check that CoreDNS logs a reload.",
        {},
    )


def coredns_headless_stale(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.version is None or cluster.version >= (1, 7, 0):
        return None
    return Draft(
        "coredns_headless_stale",
        f"CoreDNS {text(cluster.version)} is older than 1.7.0: after API server hiccups it can keep "
        "serving stale records for headless Services.",
        tuple(f"pod {p.name}: image {p.image}" for p in cluster.live_pods),
        "Upgrade CoreDNS to 1.7.0 or later.",
        {"version": text(cluster.version)},
    )


def endpointslice_migration(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.services is None or not cluster.services.tolerate_unready:
        return None
    if cluster.version is None or cluster.version < (1, 8, 4):
        return None
    annotated = cluster.services.tolerate_unready
    return Draft(
        "endpointslice_migration",
        f"{len(annotated)} Service(s) rely on the tolerate-unready-endpoints annotation, which CoreDNS "
        f"{text(cluster.version)} ignores (it reads EndpointSlices).",
        tuple(
            f"Service {name}: service.alpha.kubernetes.io/tolerate-unready-endpoints=true"
            for name in annotated
        ),
        "Set `spec.publishNotReadyAddresses: true` on these Services (or upgrade the charts that "
        "create them); the annotation no longer has any effect.",
        {"services": list(annotated)},
    )


def statefulset_service_mismatch(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or not cluster.statefulsets:
        return None
    return Draft(
        "statefulset_service_mismatch",
        f"{len(cluster.statefulsets)} StatefulSet(s) have no headless Service behind serviceName: "
        "their pods' names do not resolve.",
        tuple(f"StatefulSet {m.namespace}/{m.name}: {m.problem}" for m in cluster.statefulsets),
        "Set each StatefulSet's spec.serviceName to a headless Service (clusterIP: None) in its "
        "namespace that selects its pods.",
        {"statefulsets": [m.as_dict() for m in cluster.statefulsets]},
    )


RULES: tuple[Rule, ...] = (
    coredns_unavailable,
    coredns_overloaded,
    coredns_node_overloaded,
    coredns_load_unbalanced,
    coredns_config_error,
    coredns_autopath_defect,
    coredns_headless_stale,
    endpointslice_migration,
    statefulset_service_mismatch,
    *CROSS_RULES,
)
