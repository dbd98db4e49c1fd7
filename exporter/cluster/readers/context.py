"""What every cluster reader is given: the API, the config, and the pieces read before it."""

from __future__ import annotations

from dataclasses import dataclass

from exporter.cluster.readings import ClusterState
from exporter.config import KubernetesConfig
from exporter.kube.api import ClusterApi


class NoData(Exception):
    """The source is absent in this cluster (no metrics-server, no kube-proxy ConfigMap)."""


@dataclass(frozen=True, slots=True)
class Context:
    api: ClusterApi
    k8s: KubernetesConfig
    state: ClusterState
