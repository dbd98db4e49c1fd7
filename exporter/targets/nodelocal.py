"""The node cache that serves THIS node (``NODE_NAME``), and why: for ``nodelocal: auto``.

===============================  ==============================================================
what the API and resolv.conf say what is probed
===============================  ==============================================================
``kubernetes.nodelocal.address`` that address (written by the user: nothing is guessed)
NodeLocal DaemonSet, host         the first ``-localip`` address of its node-cache container,
network, a pod on this node       else the first ``bind`` of its ConfigMap, else 169.254.20.10
                                  (kubespray's 169.254.25.10 is found this way)
NodeLocal DaemonSet, no pod on    nothing: its nodeSelector or taints keep it off this node (GKE
this node                         labels the nodes it may run on)
NodeLocal DaemonSet in the pod    this node's node-cache pod IP: Cilium's local redirect policy
network (not hostNetwork)         sends the kube-dns VIP to it; nothing listens on the
                                  link-local address, which is not probed
no DaemonSet; resolv.conf names   that nameserver: a node cache run as a node service (AKS
a link-local or loopback address  LocalDNS: 169.254.10.11 for pods, 169.254.10.10 for the node)
                                  other than the cluster DNS Service
none of these                     nothing
===============================  ==============================================================

The DaemonSet is ``kubernetes.nodelocal.daemonset`` (default node-local-dns) or kubespray's
``nodelocaldns``, in ``kubernetes.namespace``; its pods on this node are listed with a field
selector on ``spec.nodeName``. Without ``NODE_NAME`` (outside a pod) the DaemonSet's existence
is taken to mean it serves here, as before.
"""

from __future__ import annotations

import ipaddress
import itertools
from dataclasses import dataclass
from typing import Any

from exporter.config import KubernetesConfig, Server
from exporter.corefile.parse import parse_corefile
from exporter.kube.lite import ApiError, LiteClient
from exporter.resolvconf import node_local_address
from exporter.targets.endpointslices import MalformedObject

DEFAULT_ADDRESS = "169.254.20.10"
DAEMONSETS = ("node-local-dns", "nodelocaldns")


@dataclass(frozen=True, slots=True)
class NodeCache:
    servers: tuple[Server, ...]
    reason: str
    daemonset: str | None = None
    """The NodeLocal DaemonSet found (None: none, or a node service)."""
    kind: str = "none"
    """``configured``, ``nodelocal``, ``cilium-lrp``, ``node-service``, ``elsewhere`` or ``none``."""


def daemonset_names(k8s: KubernetesConfig) -> tuple[str, ...]:
    return tuple(dict.fromkeys((k8s.nodelocal_daemonset, *DAEMONSETS)))


async def find_node_cache(
    client: LiteClient,
    k8s: KubernetesConfig,
    *,
    node: str | None,
    nameservers: tuple[str, ...] = (),
    resolver_port: int = 53,
    cluster_ips: tuple[str, ...] = (),
) -> NodeCache:
    if k8s.nodelocal_address is not None:
        return NodeCache((k8s.nodelocal_address,), "kubernetes.nodelocal.address is set", kind="configured")
    for name in daemonset_names(k8s):
        try:
            daemonset = await client.get(f"/apis/apps/v1/namespaces/{k8s.namespace}/daemonsets/{name}")
        except ApiError as exc:
            if exc.status == 404:
                continue
            raise
        return await _from_daemonset(client, k8s, daemonset, node)
    return _node_service(nameservers, resolver_port, cluster_ips)


async def _from_daemonset(
    client: LiteClient, k8s: KubernetesConfig, daemonset: dict[str, Any], node: str | None
) -> NodeCache:
    try:
        name = daemonset["metadata"]["name"]
        spec = daemonset["spec"]["template"]["spec"]
        labels = daemonset["spec"]["selector"]["matchLabels"]
        container = spec["containers"][0]
    except (KeyError, IndexError, TypeError) as exc:
        raise MalformedObject(
            f"DaemonSet {daemonset.get('metadata', {}).get('name', '?')}: {exc!r}"
        ) from None
    port = _dns_port(container)
    here = None
    if node:
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        listing = await client.get(
            f"/api/v1/namespaces/{k8s.namespace}/pods",
            {"labelSelector": selector, "fieldSelector": f"spec.nodeName={node}"},
        )
        pods = listing.get("items") or []
        if not pods:
            return NodeCache(
                (), f"DaemonSet {name} runs no pod on node {node} (nodeSelector, taints)", name, "elsewhere"
            )
        here = pods[0]
    if spec.get("hostNetwork") is not True:
        ip = ((here or {}).get("status") or {}).get("podIP")
        if not ip:
            return NodeCache(
                (),
                f"DaemonSet {name} is in the pod network and its pod here has no IP yet",
                name,
                "cilium-lrp",
            )
        return NodeCache(
            (Server(ip, port),),
            f"DaemonSet {name} runs in the pod network (a local redirect policy sends the cluster DNS "
            f"VIP to it; nothing listens on a link-local address): its pod on this node, {ip}",
            name,
            "cilium-lrp",
        )
    address, source = _local_ip(container.get("args") or [])
    if address is None:
        address, source = await _bind(client, k8s, spec), "the first bind of its ConfigMap"
    where = f"node {node}" if node else "this node (NODE_NAME unset: taken to run here)"
    listen = address or DEFAULT_ADDRESS
    source = source if address else "the default"
    return NodeCache(
        (Server(listen, port),),
        f"DaemonSet {name} runs a pod on {where}; it listens on {listen} ({source})",
        name,
        "nodelocal",
    )


def _local_ip(args: list[Any]) -> tuple[str | None, str]:
    for flag, value in itertools.pairwise(args):
        if flag in ("-localip", "--localip"):
            return str(value).split(",")[0].strip() or None, "-localip of its node-cache container"
    for arg in args:
        if isinstance(arg, str) and arg.startswith(("-localip=", "--localip=")):
            return arg.split("=", 1)[1].split(",")[0].strip() or None, "-localip of its node-cache container"
    return None, ""


async def _bind(client: LiteClient, k8s: KubernetesConfig, spec: dict[str, Any]) -> str | None:
    names = [
        v["configMap"]["name"] for v in spec.get("volumes") or [] if isinstance(v.get("configMap"), dict)
    ]
    name = next((n for n in names if n != "kube-dns"), k8s.nodelocal_configmap)
    try:
        obj = await client.get(f"/api/v1/namespaces/{k8s.namespace}/configmaps/{name}")
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    text = (obj.get("data") or {}).get("Corefile")
    if not isinstance(text, str):
        return None
    for _, directive in parse_corefile(text).directives():
        if directive.name == "bind" and directive.args:
            return str(directive.args[0])
    return None


def _dns_port(container: dict[str, Any]) -> int:
    ports = container.get("ports") or []
    named = [p for p in ports if p.get("name") == "dns"]
    udp = [p for p in ports if p.get("protocol", "TCP") == "UDP"]
    chosen = (named or udp or [{"containerPort": 53}])[0]
    port = chosen.get("containerPort")
    return port if isinstance(port, int) and 0 < port < 65536 else 53


def _node_service(nameservers: tuple[str, ...], port: int, cluster_ips: tuple[str, ...]) -> NodeCache:
    for server in nameservers:
        try:
            ip = ipaddress.ip_address(server)
        except ValueError:
            continue
        if server not in cluster_ips and (node_local_address(server) or ip.is_loopback):
            return NodeCache(
                (Server(server, port),),
                f"no NodeLocal DaemonSet; this pod's resolv.conf names {server}, on this node and not the "
                "cluster DNS Service: a node cache run as a node service (AKS LocalDNS)",
                kind="node-service",
            )
    return NodeCache((), "no NodeLocal DaemonSet and no node-local nameserver in this pod's resolv.conf")
