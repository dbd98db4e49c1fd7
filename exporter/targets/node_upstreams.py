"""The node's share of ``upstream: auto``: the servers the node itself resolves with.

``upstream: auto`` probes the servers the node itself resolves with: the
nameservers of the node's resolv.conf, on port 53 (the servers CoreDNS's
``forward . /etc/resolv.conf`` reaches, since kubelet hands CoreDNS that file).
"""

from __future__ import annotations

from collections.abc import Callable

from exporter.config import Server
from exporter.node.paths import NodePaths
from exporter.node.resolv_conf import read_node_resolv_conf
from exporter.targets.sources import Discovery, NotServed

DNS_PORT = 53


def upstream_servers(paths: NodePaths) -> tuple[Server, ...]:
    """The node resolv.conf's nameservers (the first three, as glibc and kubelet use them), port 53."""
    node = read_node_resolv_conf(paths)
    servers = tuple(Server(host, DNS_PORT) for host in node.conf.used_nameservers)
    if not servers:
        raise ValueError(f"{paths.host(node.file)} lists no nameserver")
    return servers


def node_discovery(paths: Callable[[], NodePaths]) -> Discovery:
    """A discovery part for :func:`~exporter.targets.compose`: it serves the upstream path only."""

    def discover(path: str) -> tuple[Server, ...]:
        if path == "upstream":
            return upstream_servers(paths())
        raise NotServed(path)  # the other paths come from the Kubernetes API

    return discover
