"""Causes in what application pods use for DNS, from the sampled pods (``kubernetes.sample_pods``)."""

from __future__ import annotations

from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.rules_cluster_probe import cluster_of
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


def pod_resolv_conf_elsewhere(obs: Observations, stats: Stats) -> Draft | None:
    """Pods with dnsPolicy None whose nameservers are neither cluster DNS nor NodeLocal."""
    cluster = cluster_of(obs)
    if cluster is None or cluster.pod_dns is None or not cluster.pod_dns.elsewhere:
        return None
    sample = cluster.pod_dns
    return Draft(
        "pod_resolv_conf_wrong",
        f"{sample.elsewhere_total} sampled pod(s) set their own nameservers and skip cluster DNS: "
        "they cannot resolve Services.",
        tuple(
            f"{pod}: dnsPolicy None, nameservers {', '.join(servers)}" for pod, servers in sample.elsewhere
        ),
        "If these pods need Service names, use dnsPolicy ClusterFirst, or list the kube-dns ClusterIP "
        "(or NodeLocal's address) in their dnsConfig nameservers.",
        {"pods": [pod for pod, _ in sample.elsewhere]},
    )


RULES = (nodelocal_bypassed, pod_resolv_conf_elsewhere)
