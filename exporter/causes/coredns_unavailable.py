"""No CoreDNS replica serves. The probes find every pod silent (and the Service with them); the API
shows pods missing, waiting, not Ready or restarting. Both views merge into one finding."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.cluster.model import CorednsPod
from exporter.cluster.readings import ClusterReadings
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of, pods_counted, server_state
from exporter.diagnosis.stats import Stats

RECENT_RESTART = 600.0
"""A container that terminated this recently counts as restarting now."""

STARTUP_GRACE = 90.0
"""A pod this young may not be Ready yet without anything being wrong."""


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


def _node(cluster: ClusterReadings, pod_name: str) -> str:
    pod = next((p for p in cluster.live_pods if p.name == pod_name), None)
    return (pod.node if pod else None) or "no node"


def from_probes(obs: Observations, stats: Stats) -> Draft | None:
    pods = stats.path("pod")
    if not pods or not all(p.down for p in pods):
        return None
    service = stats.path("service")
    if service and not all(s.down for s in service):
        return None
    dns = obs.dns
    return Draft(
        "coredns_unavailable",
        f"None of the {pods_counted(obs, len(pods))} answers"
        + (f", nor the {dns.service} Service." if service else "."),
        tuple(server_state(s) for s in pods + service),
        f"Look at the CoreDNS pods: `kubectl -n {dns.namespace} get pods -l {dns.selector} -o wide`, "
        "then `describe` and `logs` of one that is not Ready; a Corefile error shows in the logs.",
        {"pods": [p.server for p in pods]},
    )


def from_api(obs: Observations, stats: Stats) -> Draft | None:
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
        evidence = (
            f"no DNS pod exists in {obs.dns.namespace} (label selector {obs.dns.selector} matched nothing)",
        )
    breaking = cluster.corefile.breaking if cluster.corefile is not None else ()
    evidence += tuple(f"Corefile: {p.message}" for p in breaking)
    serving = len(pods) - len(troubled)
    fix = (
        f"Describe a failing pod and read its logs (`kubectl -n {obs.dns.namespace} describe pod <pod>`, "
        f"`kubectl -n {obs.dns.namespace} logs <pod> --previous`): CrashLoopBackOff with a Corefile "
        "error means fixing the ConfigMap, OOMKilled means a higher memory limit, ImagePullBackOff the image."
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


CAUSE = Cause(
    id="coredns_unavailable",
    severity="warning",
    title="CoreDNS pods are not serving",
    group=Group.COREDNS,
    meaning=(
        "No CoreDNS replica serves: pods missing, not Ready, crash-looping or OOM-killed, often after a "
        "Corefile change the running version rejects."
    ),
    probe="every `pod` path down, `service` too",
    signals=(
        "api: `k8s_dns_coredns_replicas_ready`, `k8s_dns_coredns_pod_ready`, `k8s_dns_coredns_pod_waiting`, "
        "`k8s_dns_coredns_pod_restarts_total`, `k8s_dns_coredns_pod_last_terminated`"
    ),
    alert=AlertEvidence(
        text="CoreDNS replicas not ready: {v}.",
        query="sum(k8s_dns_coredns_replicas) - sum(k8s_dns_coredns_replicas_ready)",
    ),
    rules=(from_probes, from_api),
    # Dead CoreDNS explains failures behind it.
    explains=frozenset(
        {
            "service_routing_broken",
            "nodelocal_down",
            "coredns_config_error",
            "coredns_api_unreachable",
            "coredns_overloaded",
        }
    ),
    probed=True,
    path="pod",
)
