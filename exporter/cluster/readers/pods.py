"""CoreDNS pods (state, restarts, placement, version, resources) and the kube-dns Service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubernetes.utils import parse_quantity

from exporter.cluster.model import CorednsPod, KubeDnsService, Resources
from exporter.cluster.readers.context import Context
from exporter.cluster.version import image_version

COREDNS_CONTAINER = "coredns"


def read_coredns_pods(ctx: Context) -> tuple[CorednsPod, ...]:
    k8s = ctx.k8s
    pods = ctx.api.call(ctx.api.core.list_namespaced_pod, k8s.namespace, label_selector=k8s.pod_selector)
    return tuple(sorted((coredns_pod(p) for p in pods.items or []), key=lambda p: p.name))


def coredns_pod(pod: Any) -> CorednsPod:
    meta, spec, status = pod.metadata, pod.spec, pod.status
    if meta is None or spec is None or not spec.containers:
        raise ValueError(f"Pod {getattr(meta, 'name', '?')} has no metadata or containers")
    container = next((c for c in spec.containers if c.name == COREDNS_CONTAINER), spec.containers[0])
    statuses = (status.container_statuses if status else None) or []
    state = next((s for s in statuses if s.name == container.name), None)
    conditions = (status.conditions if status else None) or []
    waiting = state.state.waiting if state and state.state else None
    terminated = state.last_state.terminated if state and state.last_state else None
    image = container.image or (state.image if state else "")
    return CorednsPod(
        name=meta.name,
        node=spec.node_name,
        ip=status.pod_ip if status else None,
        phase=(status.phase if status else None) or "Unknown",
        ready=any(c.type == "Ready" and c.status == "True" for c in conditions),
        restarts=state.restart_count if state else 0,
        waiting_reason=waiting.reason if waiting else None,
        last_terminated_reason=terminated.reason if terminated else None,
        last_terminated_at=_timestamp(terminated.finished_at) if terminated else None,
        start_time=_timestamp(status.start_time) if status else None,
        image=image,
        version=image_version(image) or (image_version(state.image) if state else None),
        labels=dict(meta.labels or {}),
        resources=_resources(container.resources),
        deleting=meta.deletion_timestamp is not None,
        metrics_port=next((p.container_port for p in container.ports or () if p.name == "metrics"), None),
    )


def _resources(requirements: Any) -> Resources:
    requests = (requirements.requests if requirements else None) or {}
    limits = (requirements.limits if requirements else None) or {}
    return Resources(
        cpu_request=quantity(requests.get("cpu")),
        cpu_limit=quantity(limits.get("cpu")),
        memory_request=quantity(requests.get("memory")),
        memory_limit=quantity(limits.get("memory")),
    )


def quantity(value: str | None) -> float | None:
    """A Kubernetes quantity (``100m``, ``170Mi``) as a number of base units."""
    if value is None:
        return None
    try:
        return float(parse_quantity(value))  # type: ignore[no-untyped-call]  # the package has no annotations
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ValueError(f"{value!r} is not a quantity: {exc}") from None


def _timestamp(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def read_kube_dns_service(ctx: Context) -> KubeDnsService:
    k8s = ctx.k8s
    service = ctx.api.call(ctx.api.core.read_namespaced_service, k8s.service, k8s.namespace)
    spec = service.spec
    if spec is None:
        raise ValueError(f"Service {k8s.service} has no spec")
    ips = tuple(spec.cluster_ips or ([spec.cluster_ip] if spec.cluster_ip else []))
    return KubeDnsService(k8s.service, ips, spec.session_affinity or "None")
