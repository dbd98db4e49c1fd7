"""The composition root: the parts a config needs, built once and handed to the runtime.

==================  ==============================================================
mode                parts
==================  ==============================================================
node                the node readers (host procfs and files, once per round);
                    discovery of ``auto`` hops when the Kubernetes API is
                    configured (a stdlib client: one EndpointSlice watch and a
                    few GETs; the ``kubernetes`` package is never imported)
cluster             the pod's own resolv.conf for ``upstream: auto``; discovery;
                    the cluster readers and Lease election (the ``kubernetes``
                    package); only the Lease holder probes and reports
==================  ==============================================================

``one_shot`` (``doctor``) reads once: no watch, no election.
"""

from __future__ import annotations

import os
import time

from exporter.config import AUTO, Config, KubernetesConfig
from exporter.kube.credentials import Credentials, from_kubeconfig, in_cluster
from exporter.kube.lite import LiteClient
from exporter.node.part import host_resolver_part, node_part
from exporter.part import Job, Part
from exporter.runtime import Runtime
from exporter.status import Status
from exporter.targets.discovery import KubernetesDiscovery
from exporter.targets.endpointslices import REMOVED_KEEP
from exporter.vantage import NodeVantage

VANTAGE_ENV = "K8S_DNS_NODE_VANTAGE"
"""The node-vantage agent's /diagnose on this node (deploy/overlays/node-vantage sets it)."""
NODE_ENV = "NODE_NAME"
"""The node the agent runs on (the downward API's ``spec.nodeName``, set in deploy/base/node-agent.yaml)."""


def build(config: Config, *, status: Status | None = None, one_shot: bool = False) -> Runtime:
    """The runtime for ``config``: its parts for the mode, the API and the hops it is set up for."""
    status = status or Status()
    parts = kubernetes_parts(config, status, one_shot=one_shot)
    # After the API's parts: upstream: auto lists the Corefile's servers first, then the node's.
    parts.append(node_part(config, status) if config.mode == "node" else host_resolver_part(config))
    peer = os.environ.get(VANTAGE_ENV)
    if peer and config.vantage == "pod":
        vantage = NodeVantage(peer, status, timeout=min(config.timeout, config.interval))
        parts.append(Part(before_round=(vantage.refresh,), vantage=vantage.readings))
    return Runtime(config, parts, status, node=os.environ.get(NODE_ENV) or None)


def credentials(k8s: KubernetesConfig) -> Credentials:
    if k8s.config == "in-cluster":
        return in_cluster()
    assert k8s.kubeconfig is not None
    return from_kubeconfig(k8s.kubeconfig, k8s.context)


def kubernetes_parts(config: Config, status: Status, *, one_shot: bool) -> list[Part]:
    """Discovery of ``auto`` hops and, in cluster mode, the cluster readers; nothing without the API."""
    k8s = config.kubernetes
    cluster_mode = config.mode == "cluster"
    auto = any(spec == AUTO for spec in config.paths.direct().values())
    if not k8s.enabled or not (auto or cluster_mode):
        return []
    client = LiteClient(lambda: credentials(k8s), timeout=k8s.timeout)
    node = os.environ.get("NODE_NAME") or None  # set from spec.nodeName in the shipped manifests
    if not cluster_mode:
        discovery = KubernetesDiscovery(config, client, status, watch_slices=False, node=node)
        return [discovery_part(discovery, config, one_shot)]
    # Imported here: it loads the kubernetes package (about 23 MiB), which node mode must not pay for.
    from exporter.cluster.part import Cluster  # noqa: PLC0415

    cluster = Cluster(config, status, one_shot=one_shot, located=False)
    discovery = KubernetesDiscovery(
        config,
        client,
        status,
        watch_slices=True,
        upstream=cluster.forward_servers,
        node=node,
        on_location=cluster.relocate,
        zones=cluster.forward_zones,
    )
    cluster.removed = lambda: tuple(
        (str(server), at) for server, at in discovery.removed_since(time.time() - REMOVED_KEEP)
    )
    return [discovery_part(discovery, config, one_shot), cluster.part()]


def discovery_part(discovery: KubernetesDiscovery, config: Config, one_shot: bool) -> Part:
    k8s = config.kubernetes

    async def wait_ready() -> None:
        await discovery.wait_ready(min(k8s.timeout, config.interval))

    return Part(
        jobs=(Job("discovery", k8s.refresh, discovery.refresh),),
        tasks=(discovery.watch,) if discovery.watches and not one_shot else (),
        before_round=(wait_ready,),
        discover=discovery,
        zones=discovery.zones if "upstream" in discovery.auto else None,
        discovery=discovery.readings,
    )
