"""What every cluster reader is given: the API, the config, and the pieces read before it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exporter.cluster.readings import ClusterState
from exporter.config import KubernetesConfig
from exporter.kube.api import ClusterApi


class NoData(Exception):
    """The source is absent in this cluster (no metrics-server, no kube-proxy ConfigMap)."""


class Partial(Exception):
    """Part of the source was read: ``value`` is kept, and the collector reports 0 with ``reason``."""

    def __init__(self, value: Any, reason: str) -> None:
        super().__init__(reason)
        self.value = value


@dataclass(frozen=True, slots=True)
class Context:
    api: ClusterApi
    k8s: KubernetesConfig
    """Names the located cluster DNS: its namespace, Service, selector and Corefile."""
    state: ClusterState
    home: str = "kube-system"
    """Where the node components live (kube-proxy, NodeLocal DNSCache): the configured
    ``kubernetes.namespace``, not the namespace the DNS was located in (``openshift-dns``)."""
