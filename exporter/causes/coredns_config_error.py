"""The Corefile breaks forwarding. The probes see external names fail through CoreDNS while the
upstreams answer them; the API half names the Corefile's blocking problems."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.cluster.version import text
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of
from exporter.diagnosis.stats import Stats


def from_probes(obs: Observations, stats: Stats) -> Draft | None:
    cluster = stats.path("pod") or stats.path("service")
    upstreams = stats.path("upstream")
    if not cluster or not upstreams:
        return None
    external_fail = all(s.kind("external").failing for s in cluster)
    internal_ok = all(s.kind("internal").answering or s.kind("internal").total == 0 for s in cluster)
    upstream_ok = any(u.kind("external").answering for u in upstreams)
    if not (external_fail and internal_ok and upstream_ok):
        return None
    return Draft(
        "coredns_config_error",
        "External names fail through CoreDNS while the upstream servers answer them directly: "
        "CoreDNS does not forward as it should.",
        tuple(
            f"{s.path} {s.server}: external names {s.kind('external').failed}/"
            f"{s.kind('external').total} failed ({s.kind('external').top_reason()})"
            for s in cluster
        )
        + tuple(
            f"upstream {u.server}: external names answer" for u in upstreams if u.kind("external").answering
        ),
        "Read the Corefile and any coredns-custom ConfigMap (`kubectl -n kube-system get cm "
        "coredns coredns-custom -o yaml`): check the forward block and its targets.",
        {},
    )


def from_api(obs: Observations, stats: Stats) -> Draft | None:
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


CAUSE = Cause(
    id="coredns_config_error",
    severity="warning",
    title="The Corefile breaks resolution of external names",
    group=Group.COREDNS,
    meaning=(
        "The Corefile (or `coredns-custom`) loads but breaks forwarding: external names fail through CoreDNS."
    ),
    probe="external names fail on `pod`/`service`, answer on `upstream`; internal names answer",
    signals=(
        "api: `k8s_dns_corefile_problems`, `k8s_dns_corefile_forward_targets`, restarts after a ConfigMap "
        "change"
    ),
    alert=AlertEvidence(
        text="External-name probes failing through CoreDNS: {v}.",
        query='count(k8s_dns_probe_success{path=~"service|pod"} == 0)',
    ),
    rules=(from_probes, from_api),
    probed=True,
)
