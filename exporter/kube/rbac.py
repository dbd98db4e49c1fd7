"""The least-privilege RBAC rules each mode needs, as data (docs/rbac.md says the same in prose).

``rules(mode, k8s)`` lists every (API group, resource, verbs) the exporter calls
with the given ``kubernetes:`` config, scoped to the CoreDNS namespace (a Role)
or to the cluster (a ClusterRole), with ``resourceNames`` where Kubernetes
allows them (get, update). ``policy_rules`` renders them as Role/ClusterRole
``rules:`` entries, and ``allows`` answers whether a request is covered, so
manifests can be generated from this table and tested against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exporter.config import AUTO, Config, KubernetesConfig

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
    """What ``mode`` (node or cluster) calls; node mode's rules assume every path is ``auto``."""
    k8s = k8s or KubernetesConfig()
    ns = k8s.namespace
    node = (
        Rule("", "services", ("get",), ns, (k8s.service,), "paths.service: auto reads the ClusterIP"),
        Rule(
            "discovery.k8s.io",
            "endpointslices",
            ("list", "watch"),
            ns,
            why="paths.pod: auto lists and watches the kube-dns EndpointSlices (label-selected)",
        ),
        Rule(
            "apps",
            "daemonsets",
            ("get",),
            ns,
            (k8s.nodelocal_daemonset,),
            "paths.nodelocal: auto probes NodeLocal DNSCache only if its DaemonSet exists",
        ),
        Rule(
            "",
            "configmaps",
            ("get",),
            ns,
            (k8s.corefile_configmap,),
            "paths.upstream: auto reads the Corefile's forward targets",
        ),
    )
    if mode == "node":
        return node
    if mode != "cluster":
        raise ValueError(f"unknown mode {mode!r}")
    configmaps = (
        k8s.corefile_configmap,
        k8s.custom_configmap,
        *k8s.kube_proxy_configmaps,
        k8s.nodelocal_configmap,
        *k8s.capacity.autoscaler_configmaps,
        k8s.kube_dns_configmap,
    )
    lease = k8s.lease
    return (
        *(r for r in node if r.resource not in ("configmaps", "daemonsets")),
        Rule("", "configmaps", ("get",), ns, configmaps, why=CONFIGMAPS_READ),
        Rule(
            "apps",
            "daemonsets",
            ("get",),
            ns,
            (k8s.nodelocal_daemonset, KUBE_PROXY_DAEMONSET),
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
        Rule("networking.k8s.io", "networkpolicies", ("list",), ns, why="policies selecting CoreDNS"),
        Rule(
            "policy",
            "poddisruptionbudgets",
            ("list",),
            ns,
            why="whether a PodDisruptionBudget protects CoreDNS",
        ),
        Rule("metrics.k8s.io", "pods", ("list",), ns, why="CoreDNS CPU and memory usage"),
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
    ("", "services"): "service",
    ("discovery.k8s.io", "endpointslices"): "pod",
    ("apps", "daemonsets"): "nodelocal",
    ("", "configmaps"): "upstream",
}
"""Node mode: the ``auto`` path each discovery rule serves."""


def for_config(config: Config) -> tuple[Rule, ...]:
    """What one config calls: in node mode only the discovery of its ``auto`` paths; cluster mode all."""
    if config.kubernetes.config == "off":
        return ()
    if config.mode == "cluster":
        return rules("cluster", config.kubernetes)
    auto = {name for name, spec in config.paths.direct().items() if spec == AUTO}
    return tuple(
        rule
        for rule in rules("node", config.kubernetes)
        if _NODE_PATH_OF[(rule.api_group, rule.resource)] in auto
    )


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
