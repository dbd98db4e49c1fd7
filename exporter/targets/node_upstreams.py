"""The node's share of ``upstream: auto``: the servers the node itself resolves with.

``upstream: auto`` probes the servers the node itself resolves with: the
nameservers of the node's resolv.conf, on port 53 (the servers CoreDNS's
``forward . /etc/resolv.conf`` reaches, since kubelet hands CoreDNS that file).
"""

from __future__ import annotations

from collections.abc import Callable

from exporter.config import Server
from exporter.hops import Hop
from exporter.node.readers.resolv_conf import NodeResolvConf
from exporter.targets.sources import Discovery, NotServed

DNS_PORT = 53


def upstream_servers(node: NodeResolvConf) -> tuple[Server, ...]:
    """The resolv.conf's nameservers (the first three, as glibc and kubelet use them), port 53."""
    servers = tuple(Server(host, DNS_PORT) for host in node.conf.used_nameservers)
    if not servers:
        raise ValueError(f"the node's {node.file} lists no nameserver")
    return servers


def node_discovery(resolv_conf: Callable[[], NodeResolvConf]) -> Discovery:
    """A discovery part for :func:`~exporter.targets.compose`: it serves the upstream hop only,
    from ``resolv_conf()`` (which raises when the file could not be read)."""

    def discover(path: str) -> tuple[Server, ...]:
        if path == Hop.UPSTREAM:
            return upstream_servers(resolv_conf())
        raise NotServed(path)  # the other hops come from the Kubernetes API

    return discover
