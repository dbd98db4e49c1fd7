"""CoreDNS cannot read the Kubernetes API: its pods fail internal names (SERVFAIL or silence, not
NXDOMAIN) while external names resolve."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.stats import Stats, Tally
from exporter.probe.result import Reason

_API_REASONS = frozenset({Reason.SERVFAIL, Reason.TIMEOUT, Reason.REFUSED, Reason.NETWORK_ERROR})


def _api_failures(tally: Tally) -> int:
    """Failures of the kind a CoreDNS without the API gives (SERVFAIL, no answer), not NXDOMAIN."""
    return sum(n for reason, n in tally.reasons.items() if reason in _API_REASONS)


def coredns_api_unreachable(obs: Observations, stats: Stats) -> Draft | None:
    pods = stats.path("pod")
    if not pods:
        return None
    affected = [
        p
        for p in pods
        if p.kind("internal").failing
        and p.kind("external").answering
        and _api_failures(p.kind("internal")) * 2 > p.kind("internal").failed
    ]
    if not affected:
        return None
    return Draft(
        "coredns_api_unreachable",
        f"{len(affected)} CoreDNS pod(s) fail internal names but resolve external ones: they "
        "cannot read Services from the Kubernetes API.",
        tuple(
            f"pod {p.server}: internal {p.kind('internal').failed}/{p.kind('internal').total} "
            f"failed ({p.kind('internal').top_reason()}), external answer"
            for p in affected
        ),
        "Check the CoreDNS logs for API errors and that the pods reach the API server (its "
        "Service IP and port 443/6443); look at kube-proxy and the API server's health.",
        {"pods": [p.server for p in affected]},
    )


CAUSE = Cause(
    id="coredns_api_unreachable",
    severity="warning",
    title="CoreDNS cannot reach the Kubernetes API",
    group=Group.COREDNS,
    meaning=(
        "CoreDNS cannot reach the Kubernetes API: cluster names fail (SERVFAIL) or go stale while external "
        "names resolve."
    ),
    probe="internal names fail on a `pod`, external names answer",
    signals="api: `k8s_dns_coredns_pod_ready` at 0 for running pods",
    alert=AlertEvidence(
        text="CoreDNS pods failing probes: {v}.",
        query='count(count by (server) (k8s_dns_probe_success{path="pod"} == 0))',
    ),
    rules=(coredns_api_unreachable,),
    probed=True,
    path="pod",
)
