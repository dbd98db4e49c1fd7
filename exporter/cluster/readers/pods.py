"""The cluster DNS pods (state, restarts, placement, version, resources) and the kube-dns Service.

The pods are CoreDNS's, or kube-dns's (``kubedns``, ``dnsmasq`` and ``sidecar`` in one pod,
as GKE runs it). Restarts, waiting and terminations are read from every container, and the
requests and limits are the pod's (its containers' sum). The CoreDNS version comes from the
CoreDNS container's image tag only: kube-dns's tags (``1.26.7``) are no CoreDNS version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubernetes.utils import parse_quantity

from exporter.cluster.model import CorednsPod, KubeDnsService, Resources
from exporter.cluster.readers.context import Context
from exporter.cluster.version import image_version

COREDNS_CONTAINER = "coredns"
COREDNS_IMAGE = "coredns"
"""In the repository name of every CoreDNS image seen: ``coredns/coredns``, ``eks/coredns``,
``rancher/mirrored-coredns-coredns``, ``rancher/hardened-coredns``, ``acs/coredns``."""


def read_coredns_pods(ctx: Context) -> tuple[CorednsPod, ...]:
    k8s = ctx.k8s
    pods = ctx.api.call(ctx.api.core.list_namespaced_pod, k8s.namespace, label_selector=k8s.pod_selector)
    return tuple(sorted((coredns_pod(p) for p in pods.items or []), key=lambda p: p.name))


def coredns_pod(pod: Any) -> CorednsPod:
    meta, spec, status = pod.metadata, pod.spec, pod.status
    if meta is None or spec is None or not spec.containers:
        raise ValueError(f"Pod {getattr(meta, 'name', '?')} has no metadata or containers")
    coredns = next((c for c in spec.containers if is_coredns(c.name, c.image or "")), None)
    statuses = (status.container_statuses if status else None) or []
    by_name = {s.name: s for s in statuses}
    ordered = [by_name[c.name] for c in spec.containers if c.name in by_name]
    conditions = (status.conditions if status else None) or []
    waiting = next((s.state.waiting for s in ordered if s.state and s.state.waiting), None)
    ended = [s.last_state.terminated for s in ordered if s.last_state and s.last_state.terminated]
    terminated = max(ended, key=lambda t: _timestamp(t.finished_at) or 0.0, default=None)
    shown = coredns or spec.containers[0]
    state = by_name.get(shown.name)
    image = shown.image or (state.image if state else "")
    version = None
    if coredns is not None:
        version = image_version(image) or (image_version(state.image) if state and state.image else None)
    return CorednsPod(
        name=meta.name,
        node=spec.node_name,
        ip=status.pod_ip if status else None,
        phase=(status.phase if status else None) or "Unknown",
        ready=any(c.type == "Ready" and c.status == "True" for c in conditions),
        restarts=sum(s.restart_count or 0 for s in ordered),
        waiting_reason=waiting.reason if waiting else None,
        last_terminated_reason=terminated.reason if terminated else None,
        last_terminated_at=_timestamp(terminated.finished_at) if terminated else None,
        start_time=_timestamp(status.start_time) if status else None,
        image=image,
        version=version,
        labels=dict(meta.labels or {}),
        resources=_pod_resources([c.resources for c in spec.containers]),
        deleting=meta.deletion_timestamp is not None,
        metrics_port=next((p.container_port for p in shown.ports or () if p.name == "metrics"), None),
        containers=tuple(c.name for c in spec.containers),
    )


def is_coredns(container: str, image: str) -> bool:
    """A CoreDNS container: named ``coredns``, or running an image whose repository names CoreDNS."""
    repository = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
    return container == COREDNS_CONTAINER or COREDNS_IMAGE in repository


def _pod_resources(containers: list[Any]) -> Resources:
    """The pod's requests (the containers' sum) and limits (the sum, if every container has one)."""
    each = [_resources(c) for c in containers]

    def total(field: str, *, every: bool) -> float | None:
        values: list[float | None] = [getattr(r, field) for r in each]
        present: list[float] = [v for v in values if v is not None]
        if not present or (every and len(present) < len(values)):
            return None
        return sum(present)

    return Resources(
        cpu_request=total("cpu_request", every=False),
        cpu_limit=total("cpu_limit", every=True),
        memory_request=total("memory_request", every=False),
        memory_limit=total("memory_limit", every=True),
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
