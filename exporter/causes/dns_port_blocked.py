"""Port 53 is blocked on the way to CoreDNS: pods the API says are Ready time out from here while
NetworkPolicies select them."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of, host
from exporter.diagnosis.stats import Stats
from exporter.probe.result import Reason


def dns_port_blocked(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.policies is None or cluster.pods is None:
        return None
    policies = cluster.coredns_policies
    if not policies:
        return None
    blocked = []
    for server in stats.path("pod"):
        pod = cluster.pod_at(host(server.server))
        if pod is not None and pod.ready and server.all.silent and server.all.reasons.get(Reason.TIMEOUT):
            blocked.append((server, pod))
    if not blocked:
        return None
    # The port the pods serve DNS on (OpenShift's 5353 behind the Service's 53), the usual port
    # names, and 53: a rule admitting any of them lets DNS in.
    served = sorted({int(s.server.rsplit(":", 1)[1]) for s in stats.path("pod")})
    dns_ports: set[int | str] = {53, "dns", "dns-tcp", *served}
    shown = "/".join(str(p) for p in sorted({53, *served}))
    evidence = tuple(
        f"pod {s.server} ({pod.name}) is Ready, yet {s.all.reasons[Reason.TIMEOUT]}/{s.all.total} probes "
        "timed out"
        for s, pod in blocked
    ) + tuple(
        f"NetworkPolicy {p.name} selects the CoreDNS pods and "
        + (
            f"admits port {shown} from some sources only"
            if p.admits(dns_ports)
            else f"admits no traffic to port {shown}"
        )
        for p in policies
        if p.ingress
    )
    return Draft(
        "dns_port_blocked",
        f"{len(blocked)} Ready CoreDNS pod(s) do not answer from here while NetworkPolicies select them: "
        "port 53 is blocked on the way.",
        evidence,
        "Let UDP and TCP port 53 reach the CoreDNS pods from every namespace (an ingress rule with an "
        "empty namespaceSelector on ports 53/UDP and 53/TCP); then check security groups or NSGs "
        "between the nodes.",
        {"pods": [s.server for s, _ in blocked], "policies": [p.name for p in policies]},
    )


CAUSE = Cause(
    id="dns_port_blocked",
    severity="warning",
    title="Port 53 is blocked between pods and CoreDNS",
    group=Group.NETWORK,
    meaning=(
        "Port 53 is dropped between pods and CoreDNS (NetworkPolicy, NSG, security group, ACL), or between "
        "CoreDNS and its upstreams."
    ),
    probe="`pod` timeouts from some nodes while other nodes get answers; UDP and TCP disagree",
    signals="api: `k8s_dns_coredns_network_policies`",
    alert=AlertEvidence(
        text="Probes from this node to CoreDNS pods timing out in the last 5m: {v}.",
        query='sum(increase(k8s_dns_probe_failures_total{path="pod",reason="timeout"}[5m]))',
    ),
    rules=(dns_port_blocked,),
    # Ready CoreDNS pods that time out behind a NetworkPolicy are blocked, not down.
    explains=frozenset({"coredns_unavailable"}),
    probed=True,
    scope="node",
)
