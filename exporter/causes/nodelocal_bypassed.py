"""NodeLocal DNSCache runs, kube-proxy is in IPVS mode, and sampled pods send their queries to the
kube-dns Service: they skip the cache."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of
from exporter.diagnosis.stats import Stats


def nodelocal_bypassed(obs: Observations, stats: Stats) -> Draft | None:
    """NodeLocal DNSCache runs, kube-proxy is in IPVS mode, and sampled pods never ask it.

    In iptables mode NodeLocal also answers on the kube-dns ClusterIP, so pods that ask the
    Service still use it; in IPVS mode it can only take that address's traffic if pods are
    told its own address (169.254.20.10) through dnsConfig.
    """
    cluster = cluster_of(obs)
    if cluster is None or cluster.pod_dns is None or cluster.nodelocal is None:
        return None
    sample = cluster.pod_dns
    if not cluster.nodelocal.present or cluster.kube_proxy_mode != "ipvs" or not sample.bypassing_total:
        return None
    return Draft(
        "nodelocal_bypassed",
        f"NodeLocal DNSCache runs, but {sample.bypassing_total} of {sample.sampled} sampled pods "
        "send their queries to the kube-dns Service: with kube-proxy in IPVS mode they skip the cache.",
        (
            "NodeLocal DNSCache DaemonSet present; kube-proxy mode ipvs",
            f"sampled pods: {sample.sampled}, dnsPolicy ClusterFirst: {sample.cluster_first}, "
            f"with the NodeLocal address in dnsConfig: {sample.nodelocal}",
            "for example: " + ", ".join(sample.bypassing),
        ),
        "Inject a dnsConfig that lists the NodeLocal address (169.254.20.10) first, e.g. with the "
        "DNSConfig injection your platform offers, or set kubelet's clusterDNS to that address; move "
        "Alpine (musl) images off, since musl asks every nameserver at once.",
        {"sampled": sample.sampled, "bypassing": list(sample.bypassing)},
    )


CAUSE = Cause(
    id="nodelocal_bypassed",
    severity="info",
    title="NodeLocal DNSCache runs but pods do not use it",
    group=Group.NODELOCAL,
    meaning=(
        "NodeLocal DNSCache runs, but pods still send their queries to kube-dns (no dnsConfig injection, or "
        "musl asking every nameserver)."
    ),
    probe="`nodelocal` answers",
    signals=(
        'api (opt-in, `kubernetes.sample_pods`): `k8s_dns_sampled_pods{dns="bypassing_nodelocal"}` with '
        '`k8s_dns_kube_proxy_mode_info{mode="ipvs"}`'
    ),
    alert=AlertEvidence(
        text="Nodes where NodeLocal DNSCache answers: {v}.",
        query='count(count by (instance) (k8s_dns_probe_success{path="nodelocal"} == 1))',
    ),
    rules=(nodelocal_bypassed,),
    standing=True,
)
