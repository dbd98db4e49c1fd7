"""Where the cluster DNS lives: its Service, and from it the namespace, pods and Corefile to read.

Distributions name it differently, so the configured ``kubernetes.namespace`` /
``kubernetes.service`` are tried first and then the names distributions ship:

===============================  ==========================  =================================
Service                          Corefile ConfigMap          shipped by
===============================  ==========================  =================================
kube-system/kube-dns             coredns                     kubeadm, EKS, AKS, GKE, k3s
kube-system/coredns              coredns                     kubespray
kube-system/rke2-coredns-...     rke2-coredns-rke2-coredns   RKE2 (rke2-coredns-rke2-coredns)
openshift-dns/dns-default        dns-default                 OpenShift (the DNS operator)
===============================  ==========================  =================================

Of those that exist, the one whose ClusterIP is a nameserver of this pod's resolv.conf wins
(that is what pods use); else the first in that order. Its pods are its EndpointSlices'
endpoints, whatever their labels; the cluster readers select them with the Service's own
selector. Nothing found is an exporter configuration problem, said in one line naming the keys
to set: never a DNS cause.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from exporter.config import KubernetesConfig, Server
from exporter.kube.lite import ApiError, LiteClient
from exporter.resolvconf import node_local_address
from exporter.targets.endpointslices import MalformedObject


@dataclass(frozen=True, slots=True)
class WellKnown:
    namespace: str
    service: str
    corefile: str
    distributions: str


WELL_KNOWN = (
    WellKnown("kube-system", "kube-dns", "coredns", "kubeadm, EKS, AKS, GKE, k3s"),
    WellKnown("kube-system", "coredns", "coredns", "kubespray"),
    WellKnown("kube-system", "rke2-coredns-rke2-coredns", "rke2-coredns-rke2-coredns", "RKE2"),
    WellKnown("openshift-dns", "dns-default", "dns-default", "OpenShift"),
)
WELL_KNOWN_SERVICES = tuple(sorted({w.service for w in WELL_KNOWN}))
WELL_KNOWN_CONFIGMAPS = tuple(sorted({w.corefile for w in WELL_KNOWN}))


class NotLocated(LookupError):
    """No cluster DNS Service exists under any name tried."""


@dataclass(frozen=True, slots=True)
class DnsLocation:
    """The cluster DNS Service chosen, and why."""

    namespace: str
    service: str
    selector: str
    """The Service's pod selector as a label selector ('' when it has none)."""
    corefile_configmap: str
    servers: tuple[Server, ...]
    """Its ClusterIP(s) on its DNS port."""
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "service": self.service,
            "pod_selector": self.selector,
            "corefile_configmap": self.corefile_configmap,
            "reason": self.reason,
        }

    def applied(self, k8s: KubernetesConfig) -> KubernetesConfig:
        """``k8s`` pointed at this location, for the readers that take their names from it."""
        return replace(
            k8s,
            namespace=self.namespace,
            service=self.service,
            pod_selector=self.selector or k8s.pod_selector,
            corefile_configmap=self.corefile_configmap,
        )


def candidates(k8s: KubernetesConfig) -> tuple[WellKnown, ...]:
    """The configured Service first, then the well-known ones, each once."""
    configured = WellKnown(k8s.namespace, k8s.service, k8s.corefile_configmap, "configured")
    rest = tuple(w for w in WELL_KNOWN if (w.namespace, w.service) != (k8s.namespace, k8s.service))
    return (configured, *rest)


async def locate(
    client: LiteClient,
    k8s: KubernetesConfig,
    nameservers: tuple[str, ...] = (),
    *,
    known: DnsLocation | None = None,
) -> DnsLocation:
    """The cluster DNS Service: see the module's docstring for the order. ``known`` (the last one
    located) is asked first, so a steady state costs one GET."""
    order = candidates(k8s)
    if known is not None:
        order = tuple(
            sorted(order, key=lambda c: (c.namespace, c.service) != (known.namespace, known.service))
        )
    # A node cache's link-local address is no ClusterIP: only the others can tell Services apart.
    nameservers = tuple(n for n in nameservers if not node_local_address(n))
    first: tuple[WellKnown, dict[str, Any], tuple[Server, ...]] | None = None
    for candidate in order:
        try:
            obj = await client.get(f"/api/v1/namespaces/{candidate.namespace}/services/{candidate.service}")
        except ApiError as exc:
            if exc.status != 404:
                raise  # the API is unreachable or refuses: that, not "nothing found", is the news
            continue
        servers = service_servers(obj)
        if any(s.host in nameservers for s in servers):
            ips = ", ".join(s.host for s in servers)
            return _location(
                candidate, obj, servers, f"its ClusterIP {ips} is a nameserver of this pod's resolv.conf"
            )
        if first is None:
            first = (candidate, obj, servers)
            if not nameservers or _same(candidate, known):
                break  # nothing to tell them apart by, or the one located before still stands
    if first is None:
        tried = ", ".join(f"{c.namespace}/{c.service}" for c in order)
        raise NotLocated(
            f"no cluster DNS Service found (tried {tried}): set kubernetes.namespace and "
            "kubernetes.service to the Service whose ClusterIP your pods' resolv.conf names"
        )
    candidate, obj, servers = first
    if candidate.distributions == "configured":
        why = "the configured kubernetes.namespace and kubernetes.service"
    elif known is not None and _same(candidate, known):
        why = known.reason
    else:
        configured = f"{k8s.namespace}/{k8s.service}"
        why = f"the name {candidate.distributions} ships; the configured {configured} does not exist"
    return _location(candidate, obj, servers, why)


def _same(candidate: WellKnown, known: DnsLocation | None) -> bool:
    return known is not None and (candidate.namespace, candidate.service) == (known.namespace, known.service)


def _location(
    candidate: WellKnown, obj: dict[str, Any], servers: tuple[Server, ...], why: str
) -> DnsLocation:
    selector = (obj.get("spec") or {}).get("selector") or {}
    if not isinstance(selector, dict):
        raise MalformedObject(f"Service {candidate.service}: spec.selector is not a map")
    return DnsLocation(
        namespace=candidate.namespace,
        service=candidate.service,
        selector=",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        corefile_configmap=candidate.corefile,
        servers=servers,
        reason=why,
    )


def service_servers(obj: dict[str, Any]) -> tuple[Server, ...]:
    """The ClusterIP(s) of a Service on its DNS port (named ``dns``, else the first UDP port, else 53)."""
    try:
        spec = obj["spec"]
        ips = spec.get("clusterIPs") or [spec["clusterIP"]]
        ports = spec.get("ports") or []
        named = [p for p in ports if p.get("name") == "dns"]
        udp = [p for p in ports if p.get("protocol", "TCP") == "UDP"]
        port = int((named or udp or [{"port": 53}])[0]["port"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedObject(f"Service {obj.get('metadata', {}).get('name', '?')}: {exc!r}") from None
    if not 0 < port < 65536:
        raise MalformedObject(f"Service port {port} is out of range")
    return tuple(Server(str(ip), port) for ip in ips if ip and ip != "None")
