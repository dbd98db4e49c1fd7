"""The cluster-side cause scenarios: the healthy fake cluster, and one way to break it per cause.

Each scenario changes the API objects the way the cause arises in a real cluster (and the
lab too, where the probes see the cause as well), then names the one cause the exporter
must report and the evidence it must give.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lab import Lab, Responder
from lab.coredns_metrics import CorednsMetrics, Load
from lab.kubeapi.cluster import POD_NAMES, FakeCluster, corefile, fake_cluster
from lab.kubeapi.nodes import node, node_metrics, pod_metrics
from lab.kubeapi.server import KubeAPI
from lab.kubeapi.workloads import configmap, kube_proxy_configmap, network_policy, service
from lab.responder import Request
from lab.topology import DEAD
from tests.kubeapi.kube_dns import kube_dns_pod
from tests.kubeapi.pods import pod

SAMPLE_PODS = 100
"""Every scenario samples the application pods' DNS settings, so the pod rules run on each."""


def silent(request: Request) -> None:
    """A dropped packet: no reply over UDP, a connection held open over TCP."""


@dataclass
class Scenario:
    cluster: Callable[[FakeCluster], None] = lambda cluster: None
    """What changes in the API objects."""
    evidence: list[str] | Callable[[Lab], list[str]] = field(default_factory=list)
    """The start of evidence lines the finding must carry (from the lab's addresses, if a function)."""
    silence: tuple[str, ...] = ()
    """Lab roles whose packets are dropped on the way (a firewall, not a dead server)."""
    kill: tuple[str, ...] = ()
    """Lab roles that are gone."""

    def facts(self, lab: Lab) -> list[str]:
        return self.evidence(lab) if callable(self.evidence) else self.evidence


def expected(name: str) -> list[str]:
    """The causes a scenario must name: the one its name starts with (none for ``healthy``)."""
    return [] if name.startswith("healthy") else [name.split(" ", 1)[0]]


def _corefile(cluster: FakeCluster, text: str) -> None:
    cluster.api.store.put(configmap("coredns", {"Corefile": text}))


def _memory_near_limit(cluster: FakeCluster) -> None:
    # kubeadm's 170Mi limit and a cache grown with the cluster: the next spike is an OOM kill.
    for name in POD_NAMES:
        cluster.api.store.put(pod_metrics(name, cpu="48m", memory="158Mi"))


def _busy_replicas(cluster: FakeCluster) -> None:
    # The cluster grew; CoreDNS still runs the 2 replicas it was installed with, and no autoscaler. Their
    # load takes 75m of CPU each: 150m at the peak against 70% of a 100m request per replica needs 3
    # (4 with one spare), more than the 2 running.
    for index in range(5, 42):
        cluster.api.store.put(node(f"node-{index}", allocatable_cpu="3920m"))
    for name in POD_NAMES:
        cluster.api.store.put(pod_metrics(name, cpu="75m", memory="17164Ki"))


def _busy_node(cluster: FakeCluster) -> None:
    # A batch job landed beside a CoreDNS replica and takes the node's CPU.
    cluster.api.store.put(node_metrics("node-2", cpu="3724m", memory="7661980Ki"))


def _same_node(cluster: FakeCluster) -> None:
    # node-2 was drained; the replacement replica was scheduled beside the other one (no anti-affinity).
    cluster.replace_pod(1, node="node-1")
    ips = cluster.pod_ips[:2]
    cluster.api.store.put(cluster.slice(list(zip(ips, POD_NAMES, ["node-1", "node-1"], strict=True))))


def _session_affinity(cluster: FakeCluster) -> None:
    cluster.api.store.put(cluster.kube_dns(affinity="ClientIP"))


def _autopath(cluster: FakeCluster) -> None:
    # Someone followed a tuning guide: autopath needs the kubernetes plugin's "pods verified".
    text = corefile(cluster.upstreams, extra="    autopath @kubernetes\n")
    _corefile(cluster, text.replace("pods insecure", "pods verified"))


def _old_coredns(cluster: FakeCluster) -> None:
    # A cluster installed with kubeadm 1.18 whose CoreDNS was never upgraded.
    for index in range(2):
        cluster.replace_pod(index, image="k8s.gcr.io/coredns:1.6.7")


def _tolerate_unready(cluster: FakeCluster) -> None:
    # An old etcd chart: peers must find each other before they are Ready.
    annotation = {"service.alpha.kubernetes.io/tolerate-unready-endpoints": "true"}
    cluster.api.store.put(
        service("etcd", namespace="data", cluster_ip="None", port=2379, annotations=annotation)
    )


def _statefulset_behind_cluster_ip(cluster: FakeCluster) -> None:
    # The zk Service was recreated from a template that gives it a ClusterIP.
    cluster.api.store.put(service("zk", namespace="data", cluster_ip="10.96.51.3", port=2181))


def _metrics_policy(cluster: FakeCluster) -> None:
    # A policy written to let Prometheus scrape CoreDNS: once a policy selects a pod for ingress,
    # whatever no policy admits (port 53 from every other pod) is dropped.
    cluster.api.store.put(network_policy("metrics-only", selector={"k8s-app": "kube-dns"}, dns_port=False))


def _ipvs(cluster: FakeCluster) -> None:
    # kube-proxy moved to IPVS; NodeLocal DNSCache was installed the iptables way (no dnsConfig).
    cluster.api.store.put(kube_proxy_configmap("ipvs"))


def _own_nameservers(cluster: FakeCluster) -> None:
    cluster.api.store.put(pod("legacy-app", policy="None", servers=["8.8.8.8"]))


def _crash_loop(cluster: FakeCluster) -> None:
    # A Corefile kept across an upgrade: resyncperiod is gone since 1.6.0, so 1.11.1 will not start.
    _corefile(cluster, corefile(cluster.upstreams).replace("ttl 30", "ttl 30\n       resyncperiod 10m"))
    crashed = datetime.fromtimestamp(time.time() - 40, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for index in range(2):
        cluster.replace_pod(
            index, ready=False, restarts=7, waiting="CrashLoopBackOff", last_terminated=("Error", crashed)
        )
    cluster.api.store.put(cluster.slice(ready=False))


def dead_forwarder(upstream: str) -> str:
    """Where nothing listens, on the lab of ``upstream`` (``127.<net>.40.1:5353``): an on-premises
    forwarder that is gone."""
    host, port = upstream.rsplit(":", 1)
    return f"127.{host.split('.')[1]}.{DEAD}:{port}"


def _stub_domain(*, dead: bool) -> Callable[[FakeCluster], None]:
    """AKS's way to reach an on-premises zone: coredns-custom adds a server block for corp.internal
    (corp.server), and a forward line inside `.:53` (forward.override; several forward in a block are
    valid from CoreDNS 1.9.4, the pods run 1.11.1, but imported after `forward .` no query reaches
    it). The lab's upstreams serve corp.internal."""

    def change(cluster: FakeCluster) -> None:
        first, second = cluster.upstreams[0], cluster.upstreams[-1]
        forwarder = dead_forwarder(first) if dead else first
        corp = f"corp.internal:53 {{\n    errors\n    cache 30\n    forward . {forwarder}\n}}\n"
        keys = {
            "log.override": "log\n",
            "forward.override": f"forward corp.internal {second}\n",
            "corp.server": corp,
        }
        cluster.api.store.put(configmap("coredns-custom", keys))

    return change


def _kube_dns_stub(cluster: FakeCluster) -> None:
    """kube-dns serves (GKE's), with upstreamNameservers set and a stub domain whose forwarder is gone."""
    for name, pod_ in cluster.pods.items():
        spec = pod_["spec"]
        cluster.api.store.put(kube_dns_pod(name, node=spec["nodeName"], ip=pod_["status"]["podIP"]))
    cluster.api.store.delete("v1", "configmaps", "kube-system", "coredns")
    data = {
        "stubDomains": f'{{"corp.internal": ["{dead_forwarder(cluster.upstreams[0])}"]}}',
        "upstreamNameservers": f'["{cluster.upstreams[0]}"]',
    }
    cluster.api.store.put(configmap("kube-dns", data))


def _dead_forwarder_evidence(lab: Lab) -> list[str]:
    dead = dead_forwarder(lab.address("upstream-1"))
    return [f"upstream {dead}: "]


SCENARIOS: dict[str, Scenario] = {
    "healthy": Scenario(),
    "healthy (stub domains)": Scenario(_stub_domain(dead=False)),
    "upstream_unreachable (on-premises forwarder)": Scenario(
        _stub_domain(dead=True), evidence=_dead_forwarder_evidence
    ),
    "upstream_unreachable (kube-dns stub domain)": Scenario(
        _kube_dns_stub, evidence=_dead_forwarder_evidence
    ),
    "coredns_overloaded (memory near the limit)": Scenario(
        _memory_near_limit,
        [f"pod {POD_NAMES[0]}: memory 158 of 170 MiB limit (93%)"],
    ),
    "coredns_overloaded (too few replicas)": Scenario(
        _busy_replicas,
        ["2 replicas for a peak of "],
    ),
    "coredns_node_overloaded": Scenario(
        _busy_node,
        ["node node-2: CPU 95%, memory 50% of allocatable"],
    ),
    "coredns_load_unbalanced (one node)": Scenario(
        _same_node,
        [f"node node-1: 2 replicas ({POD_NAMES[0]}, {POD_NAMES[1]})"],
    ),
    "coredns_load_unbalanced (session affinity)": Scenario(
        _session_affinity,
        ["Service kube-dns has sessionAffinity: ClientIP"],
    ),
    "coredns_autopath_defect": Scenario(
        _autopath,
        ["Corefile:20: autopath is enabled"],
    ),
    "coredns_headless_stale": Scenario(
        _old_coredns,
        [f"pod {POD_NAMES[0]}: image k8s.gcr.io/coredns:1.6.7"],
    ),
    "endpointslice_migration": Scenario(
        _tolerate_unready,
        ["Service data/etcd: service.alpha.kubernetes.io/tolerate-unready-endpoints=true"],
    ),
    "statefulset_service_mismatch": Scenario(
        _statefulset_behind_cluster_ip,
        ["StatefulSet data/zk: Service zk is not headless (it has a ClusterIP)"],
    ),
    "dns_port_blocked": Scenario(
        cluster=_metrics_policy,
        silence=("service", "pod-1", "pod-2"),
        evidence=lambda lab: [
            f"pod {lab.address('pod-1')} ({POD_NAMES[0]}) is Ready, yet ",
            "NetworkPolicy metrics-only selects the CoreDNS pods and admits no traffic to port 53",
        ],
    ),
    "nodelocal_bypassed": Scenario(
        _ipvs,
        [
            "NodeLocal DNSCache DaemonSet present; kube-proxy mode ipvs",
            "sampled pods: 5, dnsPolicy ClusterFirst: 5, with the NodeLocal address in dnsConfig: 0",
        ],
    ),
    "pod_resolv_conf_wrong": Scenario(
        _own_nameservers,
        ["default/legacy-app: dnsPolicy None, nameservers 8.8.8.8"],
    ),
    "coredns_unavailable (crash loop)": Scenario(
        cluster=_crash_loop,
        kill=("pod-1", "pod-2"),
        evidence=[
            f"pod {POD_NAMES[0]} on node-1: waiting: CrashLoopBackOff; not Ready (phase Running); "
            "7 restarts, last terminated ",
            "Corefile: Corefile:11: kubernetes option resyncperiod was removed in CoreDNS 1.6.0",
        ],
    ),
}


def staged(name: str, lab: Lab, kube_api: KubeAPI, stack: ExitStack) -> Scenario:
    """Load the healthy cluster, then break the API objects and the lab the scenario's way."""
    scenario = SCENARIOS[name]
    scenario.cluster(fake_cluster(kube_api, lab, healthy=True))
    for role in lab.roles("pod"):  # each CoreDNS pod serves its metrics, unless the scenario stops it
        if role not in scenario.kill:
            stack.enter_context(CorednsMetrics(lab.servers[role].host, 9153, Load(qps=50.0)))
    for role in scenario.kill:
        lab.kill(role)
    for role in scenario.silence:
        server = lab.servers[role]
        lab.kill(role)
        stack.enter_context(Responder(server.host, server.port, silent))
    return scenario
