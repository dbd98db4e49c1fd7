"""A sample of running pods' DNS settings: do they use cluster DNS, and NodeLocal DNSCache?

Off unless ``kubernetes.sample_pods`` is set: one list of that many running pods
(``status.phase=Running``, all namespaces), reading ``dnsPolicy``,
``dnsConfig.nameservers`` and ``hostNetwork``. Host-network pods and the CoreDNS
namespace are left out: they resolve through the node by design.
"""

from __future__ import annotations

from typing import Any

from exporter.cluster.model import KubeDnsService, PodDnsSample
from exporter.cluster.readers.context import Context, NoData
from exporter.resolvconf import node_local_address
from exporter.targets.nodelocal import DEFAULT_ADDRESS

SHOWN = 10


def read_pod_dns(ctx: Context) -> PodDnsSample:
    k8s, api = ctx.k8s, ctx.api
    if k8s.sample_pods == 0:
        raise NoData("pod sampling is off (kubernetes.sample_pods: 0)")
    page = api.call(
        api.core.list_pod_for_all_namespaces, limit=k8s.sample_pods, field_selector="status.phase=Running"
    )
    service: KubeDnsService | None = ctx.state.get("kube_dns_service")
    cluster_dns = set(service.cluster_ips) if service is not None else set()
    nodelocal = k8s.nodelocal_address.host if k8s.nodelocal_address is not None else DEFAULT_ADDRESS
    sampled = cluster_first = with_nodelocal = bypassing_total = elsewhere_total = 0
    bypassing: list[str] = []
    elsewhere: list[tuple[str, tuple[str, ...]]] = []
    for pod in (page.items or [])[: k8s.sample_pods]:
        if not _application_pod(pod, k8s.namespace):
            continue
        sampled += 1
        policy = (pod.spec.dns_policy if pod.spec else None) or "ClusterFirst"
        servers = _nameservers(pod)
        name = f"{pod.metadata.namespace}/{pod.metadata.name}"
        if nodelocal in servers:
            with_nodelocal += 1
        if policy == "ClusterFirst":
            cluster_first += 1
            if nodelocal not in servers:
                bypassing_total += 1
                bypassing.extend([name][: SHOWN - len(bypassing)])
        elif (
            policy == "None"
            and servers
            and not set(servers) & (cluster_dns | {nodelocal})
            and not any(node_local_address(s) for s in servers)
        ):
            elsewhere_total += 1
            elsewhere.extend([(name, servers)][: SHOWN - len(elsewhere)])
    return PodDnsSample(
        sampled,
        cluster_first,
        with_nodelocal,
        bypassing_total,
        tuple(bypassing),
        tuple(elsewhere),
        elsewhere_total,
    )


def _application_pod(pod: Any, coredns_namespace: str) -> bool:
    metadata, spec, status = pod.metadata, pod.spec, pod.status
    if metadata is None or spec is None or metadata.namespace == coredns_namespace:
        return False
    if spec.host_network:
        return False
    return status is not None and status.phase == "Running"


def _nameservers(pod: Any) -> tuple[str, ...]:
    config = pod.spec.dns_config if pod.spec else None
    return tuple(config.nameservers or ()) if config is not None else ()
