"""A realistic small cluster loaded into the test API: what every kubeapi test starts from.

``fake_cluster`` loads it with the lab's servers as its CoreDNS pods, kube-dns Service and upstreams.

By default it carries problems real clusters have (each marked "problem" below); with
``healthy=True`` it has none of them, the baseline the cause scenarios break one way each.

==============  =============================================================
object          what it holds
==============  =============================================================
nodes           node-1, node-2 (4 CPU, 3920m allocatable), node-3 (8 CPU,
                7900m allocatable), node-4 (cordoned: unschedulable)
CoreDNS         two pods (node-1, node-2) with the given IPs, their
                EndpointSlice and the kube-dns Service on the given port
ConfigMaps      coredns (forward . to the given upstreams), coredns-custom
                (one override), kube-proxy (mode ipvs; healthy: iptables),
                node-local-dns
DaemonSets      node-local-dns, kube-proxy
Services        default/kubernetes, default/web, default/redis (headless),
                data/etcd (headless, the tolerate-unready annotation; problem:
                without publishNotReadyAddresses),
                data/zk (problem: not headless), data/kafka (healthy only,
                headless), and kube-dns
StatefulSets    default/redis -> redis, data/zk -> zk, data/kafka (problem: ->
                kafka-headless, which does not exist; healthy: -> kafka),
                data/batch (no serviceName: allowed)
Policies        other (selects another app); problems: allow-dns (selects
                CoreDNS, admits 53 from one namespace), metrics-only (selects
                CoreDNS, admits only 9153)
Pods            the two CoreDNS pods and five application pods
metrics.k8s.io  usage of both CoreDNS pods, node-1 (50% CPU) and node-2 (95%:
                saturated, a problem; healthy: 50%)
==============  =============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lab.kubeapi.nodes import node, node_metrics, pod_metrics
from lab.kubeapi.objects import NS, T0, coredns_pod, meta
from lab.kubeapi.server import KubeAPI
from lab.kubeapi.workloads import (
    configmap,
    daemonset,
    endpoint_slice,
    kube_proxy_configmap,
    network_policy,
    service,
    statefulset,
)
from lab.topology import Lab

POD_NAMES = ("coredns-5d78c9869d-7tx2p", "coredns-5d78c9869d-x9lmq")
NODES = ("node-1", "node-2")
SLICE = "kube-dns-8xq2v"


def corefile(upstreams: list[str], *, extra: str = "") -> str:
    targets = " ".join(upstreams)
    return f""".:53 {{
    errors
    health {{
       lameduck 5s
    }}
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }}
    prometheus :9153
    forward . {targets} {{
       max_concurrent 1000
    }}
    cache 30
    loop
    reload
    loadbalance
{extra}    import custom/*.override
}}
import custom/*.server
"""


@dataclass
class FakeCluster:
    api: KubeAPI
    pod_ips: list[str]
    service_ip: str
    port: int
    upstreams: list[str]
    pods: dict[str, dict[str, Any]] = field(default_factory=dict)
    healthy: bool = False
    """Leave out the built-in problems (the baseline a scenario breaks one way)."""

    def load(self) -> FakeCluster:
        put = self.api.store.put
        healthy = self.healthy
        for name, cpu, allocatable in (
            ("node-1", "4", "3920m"),
            ("node-2", "4", "3920m"),
            ("node-3", "8", "7900m"),
        ):
            put(node(name, cpu=cpu, allocatable_cpu=allocatable, allocatable_memory="15323960Ki"))
        put(node("node-4", unschedulable=True))
        for name, node_name, ip in zip(POD_NAMES, NODES, self.pod_ips, strict=False):
            self.pods[name] = coredns_pod(name, node=node_name, ip=ip)
            put(self.pods[name])
            put(pod_metrics(name, cpu="2946532n", memory="17164Ki"))
        put(node_metrics("node-1", cpu="1960m", memory="3062564Ki"))
        cpu, memory = ("1960m", "3062564Ki") if healthy else ("3724m", "7661980Ki")
        put(node_metrics("node-2", cpu=cpu, memory=memory))
        put(self.slice())
        put(self.kube_dns())
        put(configmap("coredns", {"Corefile": corefile(self.upstreams)}))
        put(configmap("coredns-custom", {"log.override": "log\n"}))
        put(kube_proxy_configmap("iptables" if healthy else "ipvs"))
        put(daemonset("node-local-dns"))
        put(daemonset("kube-proxy"))
        put(
            configmap(
                "node-local-dns",
                {
                    "Corefile": ".:53 {\n    errors\n    cache 30\n    forward . __PILLAR__UPSTREAM__SERVERS__\n}\n"
                },
            )
        )
        put(service("kubernetes", cluster_ip="10.96.0.1", port=443))
        put(service("web", cluster_ip="10.96.40.7"))
        put(service("redis", cluster_ip="None", port=6379))
        put(
            service(
                "etcd",
                namespace="data",
                cluster_ip="None",
                port=2379,
                # Healthy: the annotation stays beside publishNotReadyAddresses, which CoreDNS
                # >= 1.8.4 reads, so nothing relies on the annotation alone.
                annotations={"service.alpha.kubernetes.io/tolerate-unready-endpoints": "true"},
                publish_not_ready=healthy,
            )
        )
        put(service("zk", namespace="data", cluster_ip="None" if healthy else "10.96.51.3", port=2181))
        put(statefulset("redis", service_name="redis"))
        put(statefulset("zk", namespace="data", service_name="zk"))
        if healthy:
            put(service("kafka", namespace="data", cluster_ip="None", port=9092))
        put(statefulset("kafka", namespace="data", service_name="kafka" if healthy else "kafka-headless"))
        # Allowed by the API and healthy: no serviceName asks for no pod names.
        put(statefulset("batch", namespace="data", service_name=""))

        if not healthy:
            put(network_policy("allow-dns", selector={"k8s-app": "kube-dns"}, dns_port=True))
            put(network_policy("metrics-only", selector={"k8s-app": "kube-dns"}, dns_port=False))
        put(network_policy("other", selector={"app": "something-else"}, dns_port=True))
        for index in range(5):
            put(app_pod(f"web-7c9f8d-{index}"))
        return self

    def slice(
        self, endpoints: list[tuple[str, str, str]] | None = None, *, ready: bool = True
    ) -> dict[str, Any]:
        if endpoints is None:
            endpoints = list(zip(self.pod_ips, POD_NAMES, NODES, strict=False))
        return endpoint_slice(SLICE, endpoints, port=self.port, ready=ready)

    def kube_dns(self, *, affinity: str = "None") -> dict[str, Any]:
        """The kube-dns Service in front of the CoreDNS pods."""
        return service(
            "kube-dns",
            namespace=NS,
            cluster_ip=self.service_ip,
            port=self.port,
            affinity=affinity,
            dns=True,
            selector={"k8s-app": "kube-dns"},
        )

    def replace_pod(self, index: int, **changes: Any) -> dict[str, Any]:
        """CoreDNS pod ``index`` put again with ``coredns_pod`` fields changed (image, node, limits...)."""
        name = POD_NAMES[index]
        fields: dict[str, Any] = {"node": NODES[index], "ip": self.pod_ips[index], **changes}
        self.pods[name] = coredns_pod(name, **fields)
        self.api.store.put(self.pods[name])
        return self.pods[name]

    def remove_pod(self, index: int) -> None:
        """A CoreDNS pod deleted: gone from the EndpointSlice, the pods and metrics.k8s.io."""
        name = POD_NAMES[index]
        keep = [e for e in zip(self.pod_ips, POD_NAMES, NODES, strict=False) if e[1] != name]
        self.api.store.put(self.slice(keep))
        self.api.store.delete("v1", "pods", NS, name)
        self.api.store.delete("metrics.k8s.io/v1beta1", "pods", NS, name)


def host(address: str) -> str:
    """The host of a ``host:port`` address."""
    return address.rsplit(":", 1)[0]


def fake_cluster(kube_api: KubeAPI, lab: Lab, *, healthy: bool = False) -> FakeCluster:
    """The cluster, loaded into ``kube_api``, whose DNS servers are ``lab``'s."""
    pods = [host(lab.address(r)) for r in lab.roles("pod")]
    upstreams = [lab.address(r) for r in lab.roles("upstream")]
    service_ip = host(lab.address("service"))
    return FakeCluster(kube_api, pods, service_ip, lab.port, upstreams, healthy=healthy).load()


def app_pod(name: str, namespace: str = "default") -> dict[str, Any]:
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": meta(name, namespace, labels={"app": "web"}),
        "spec": {
            "containers": [{"name": "web", "image": "docker.io/library/nginx:1.27", "resources": {}}],
            "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst",
            "nodeName": "node-3",
        },
        "status": {
            "phase": "Running",
            "podIP": "10.244.3.9",
            "startTime": T0,
            "containerStatuses": [
                {
                    "name": "web",
                    "ready": True,
                    "restartCount": 0,
                    "image": "docker.io/library/nginx:1.27",
                    "imageID": "docker.io/library/nginx@sha256:0f04e4f646a3f14bf31d8bc8d885b6c951fdcf42589d06845f64d18aec6a3c4d",
                    "state": {"running": {"startedAt": T0}},
                }
            ],
        },
    }
