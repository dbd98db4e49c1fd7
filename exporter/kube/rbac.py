"""The least-privilege RBAC rules each mode needs, as data (docs/rbac.md says the same in prose).

``rules(mode, k8s)`` lists every (API group, resource, verbs) the exporter calls
with the given ``kubernetes:`` config, scoped to the CoreDNS namespace (a Role)
or to the cluster (a ClusterRole), with ``resourceNames`` where Kubernetes
allows them (get, update). ``policy_rules`` renders them as Role/ClusterRole
``rules:`` entries, and ``allows`` answers whether a request is covered, so
manifests can be generated from this table and tested against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from exporter.config import AUTO, Config, KubernetesConfig
from exporter.targets.locate import candidates
from exporter.targets.nodelocal import DAEMONSETS, daemonset_names

NAMEABLE_VERBS = frozenset({"get", "update", "patch", "delete"})
CONFIGMAPS_READ = (
    "Corefile, coredns-custom, kube-dns (stub domains), kube-proxy, NodeLocal, the replica autoscaler's"
)


@dataclass(frozen=True, slots=True)
class Rule:
    api_group: str
    resource: str
    verbs: tuple[str, ...]
    namespace: str | None
    """Granted in this namespace only (a Role); ``None``: in every namespace (a ClusterRole)."""
    names: tuple[str, ...] = ()
    """resourceNames that restrict the name-able verbs; empty: any name."""
    why: str = ""

    def entry(self) -> dict[str, Any]:
        """This rule as one entry of a Role's or ClusterRole's ``rules:``."""
        entry: dict[str, Any] = {
            "apiGroups": [self.api_group],
            "resources": [self.resource],
            "verbs": list(self.verbs),
        }
        if self.names:
            entry["resourceNames"] = list(self.names)
        return entry


KUBE_PROXY_DAEMONSET = "kube-proxy"
"""Read by name to tell a cluster without kube-proxy (Cilium, OVN-Kubernetes, k3s) from one whose
kube-proxy configuration is elsewhere."""


def rules(mode: str, k8s: KubernetesConfig | None = None) -> tuple[Rule, ...]:
    """What ``mode`` (node or cluster) calls; node mode's rules assume every path is ``auto``.

    The cluster DNS is located among the configured Service and the names distributions ship
    (``exporter.targets.locate``), in namespaces that need not exist: those reads are granted
    cluster-wide, limited by ``resourceNames`` where Kubernetes allows it."""
    k8s = k8s or KubernetesConfig()
    ns = k8s.namespace
    dns = candidates(k8s)
    node = (
        Rule(
            "",
            "services",
            ("get",),
            None,
            _names(c.service for c in dns),
            "locating the cluster DNS Service: the configured name, then those distributions ship",
        ),
        Rule(
            "discovery.k8s.io",
            "endpointslices",
            ("list", "watch"),
            None,
            why="paths.pod: auto lists and watches the located Service's EndpointSlices (label-selected)",
        ),
        Rule(
            "apps",
            "daemonsets",
            ("get",),
            ns,
            daemonset_names(k8s),
            "paths.nodelocal: auto reads the NodeLocal DaemonSet (its -localip, its pod network)",
        ),
        Rule(
            "",
            "pods",
            ("list",),
            ns,
            why="paths.nodelocal: auto: the NodeLocal pod on this node (field selector spec.nodeName)",
        ),
        Rule(
            "",
            "configmaps",
            ("get",),
            ns,
            _names((k8s.nodelocal_configmap, *DAEMONSETS)),
            "paths.nodelocal: auto: the bind address of NodeLocal's Corefile, without -localip",
        ),
        Rule(
            "",
            "configmaps",
            ("get",),
            None,
            _names(c.corefile for c in dns),
            "paths.upstream: auto reads the located Corefile's forward targets",
        ),
    )
    if mode == "node":
        return node
    if mode != "cluster":
        raise ValueError(f"unknown mode {mode!r}")
    configmaps = _names(
        (
            *(c.corefile for c in dns),
            k8s.custom_configmap,
            *k8s.kube_proxy_configmaps,
            k8s.nodelocal_configmap,
            *DAEMONSETS,
            *k8s.capacity.autoscaler_configmaps,
            k8s.kube_dns_configmap,
        )
    )
    lease = k8s.lease
    return (
        *(r for r in node if r.resource not in ("configmaps", "pods", "daemonsets")),
        Rule("", "configmaps", ("get",), None, configmaps, why=CONFIGMAPS_READ),
        Rule(
            "apps",
            "daemonsets",
            ("get",),
            ns,
            _names((*daemonset_names(k8s), KUBE_PROXY_DAEMONSET)),
            "NodeLocal DNSCache present or not; whether kube-proxy runs at all",
        ),
        Rule("", "pods", ("list",), None, why="CoreDNS pods (label-selected) and the cluster's pod count"),
        Rule("", "services", ("list",), None, why="tolerate-unready annotations, headless Services, count"),
        Rule(
            "",
            "nodes",
            ("get", "list"),
            None,
            why="cluster size (linear formula) and CoreDNS nodes' capacity",
        ),
        Rule("apps", "statefulsets", ("list",), None, why="serviceName of every StatefulSet"),
        Rule("networking.k8s.io", "networkpolicies", ("list",), None, why="policies selecting CoreDNS"),
        Rule(
            "policy",
            "poddisruptionbudgets",
            ("list",),
            None,
            why="whether a PodDisruptionBudget protects CoreDNS",
        ),
        Rule("metrics.k8s.io", "pods", ("list",), None, why="CoreDNS CPU and memory usage"),
        Rule("metrics.k8s.io", "nodes", ("get",), None, why="usage of the nodes hosting CoreDNS"),
        Rule(
            "coordination.k8s.io",
            "leases",
            ("get", "update"),
            lease.namespace,
            (lease.name,),
            "leader election",
        ),
        Rule(
            "coordination.k8s.io",
            "leases",
            ("create",),
            lease.namespace,
            why="leader election: the first instance creates the Lease",
        ),
    )


_NODE_PATH_OF = {
    ("", "services", None): "",
    ("discovery.k8s.io", "endpointslices", None): "pod",
    ("apps", "daemonsets", "ns"): "nodelocal",
    ("", "pods", "ns"): "nodelocal",
    ("", "configmaps", "ns"): "nodelocal",
    ("", "configmaps", None): "upstream",
}
"""Node mode: the ``auto`` path each discovery rule serves ("": any, locating the Service)."""


def for_config(config: Config) -> tuple[Rule, ...]:
    """What one config calls: in node mode only the discovery of its ``auto`` paths; cluster mode all."""
    if config.kubernetes.config == "off":
        return ()
    if config.mode == "cluster":
        return rules("cluster", config.kubernetes)
    auto = {name for name, spec in config.paths.direct().items() if spec == AUTO}
    if config.kubernetes.nodelocal_address is not None:
        auto.discard("nodelocal")  # written: nothing of NodeLocal is read
    if not auto:
        return ()
    return tuple(
        rule
        for rule in rules("node", config.kubernetes)
        if _NODE_PATH_OF[(rule.api_group, rule.resource, "ns" if rule.namespace else None)] in {"", *auto}
    )


def _names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(names)))


def policy_rules(mode: str, k8s: KubernetesConfig | None = None) -> dict[str, list[dict[str, Any]]]:
    """The rules as ``rules:`` entries: key ``""`` for the ClusterRole, a namespace for each Role."""
    out: dict[str, list[dict[str, Any]]] = {}
    for rule in rules(mode, k8s):
        out.setdefault(rule.namespace or "", []).append(rule.entry())
    return out


def allows(
    granted: tuple[Rule, ...],
    *,
    api_group: str,
    resource: str,
    verb: str,
    namespace: str | None,
    name: str | None,
) -> bool:
    """Whether ``granted`` covers one request (``namespace`` None: a cluster-wide or cluster-scoped one)."""
    for rule in granted:
        if (rule.api_group, rule.resource) != (api_group, resource) or verb not in rule.verbs:
            continue
        if rule.namespace is not None and namespace != rule.namespace:
            continue
        if rule.names and (verb not in NAMEABLE_VERBS or name not in rule.names):
            continue
        return True
    return False
