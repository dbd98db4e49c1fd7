"""CPU and memory in use, from metrics.k8s.io: the CoreDNS pods and the nodes that host them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernetes.client.exceptions import ApiException

from exporter.cluster.model import CorednsPod, NodeUsage, PodUsage, Usage
from exporter.cluster.readers.context import Context, NoData
from exporter.cluster.readers.pods import quantity

GROUP, VERSION = "metrics.k8s.io", "v1beta1"


def read_usage(ctx: Context) -> Usage:
    k8s, api = ctx.k8s, ctx.api
    try:
        listing = api.call(
            api.custom.list_namespaced_custom_object,
            GROUP,
            VERSION,
            k8s.namespace,
            "pods",
            label_selector=k8s.pod_selector,
        )
    except ApiException as exc:
        if exc.status == 404:
            raise NoData("metrics.k8s.io is not served (is metrics-server installed?)") from None
        raise
    pods = tuple(sorted((_pod_usage(item) for item in _items(listing)), key=lambda u: u.pod))
    coredns: tuple[CorednsPod, ...] = ctx.state.get("coredns_pods") or ()
    nodes = sorted({p.node for p in coredns if p.node and not p.deleting})
    return Usage(pods, tuple(u for u in (_node_usage(ctx, node) for node in nodes) if u is not None))


def _node_usage(ctx: Context, node: str) -> NodeUsage | None:
    """``None`` for a node gone since the pods were read, or not yet measured by metrics-server."""
    api = ctx.api
    try:
        metrics = api.call(api.custom.get_cluster_custom_object, GROUP, VERSION, "nodes", node)
        allocatable = api.call(api.core.read_node, node).status.allocatable or {}
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    usage = _usage(metrics, f"NodeMetrics {node}")
    return NodeUsage(
        node=node,
        cpu_cores=usage[0],
        memory_bytes=usage[1],
        cpu_allocatable=quantity(allocatable.get("cpu")) or 0.0,
        memory_allocatable=quantity(allocatable.get("memory")) or 0.0,
    )


def _items(listing: Any) -> list[Mapping[str, Any]]:
    items = listing.get("items") if isinstance(listing, Mapping) else None
    if not isinstance(items, list):
        raise ValueError("PodMetricsList has no items list")
    return items


def _pod_usage(item: Mapping[str, Any]) -> PodUsage:
    try:
        name = item["metadata"]["name"]
        containers = item["containers"]
        cpu = sum(quantity(c["usage"]["cpu"]) or 0.0 for c in containers)
        memory = sum(quantity(c["usage"]["memory"]) or 0.0 for c in containers)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"PodMetrics is missing {exc}") from None
    return PodUsage(str(name), cpu, memory)


def _usage(item: Any, what: str) -> tuple[float, float]:
    try:
        usage = item["usage"]
        return quantity(usage["cpu"]) or 0.0, quantity(usage["memory"]) or 0.0
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{what} is missing {exc}") from None
