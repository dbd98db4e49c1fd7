"""The hops of the DNS path a pod's query travels: the ``path`` label and the keys of ``paths:``.

=============  ===================================================================
``service``    the kube-dns Service (its ClusterIP, through kube-proxy)
``pod``        each CoreDNS pod, asked directly on its pod IP
``nodelocal``  the node's NodeLocal DNSCache
``upstream``   each server CoreDNS forwards to, asked directly
``resolver``   a whole lookup as a glibc client in the pod makes it (search list, retries)
=============  ===================================================================
"""

from __future__ import annotations

from enum import StrEnum


class Hop(StrEnum):
    """In the order a pod's query travels them (``resolver`` last: it is the pod's own view)."""

    SERVICE = "service"
    POD = "pod"
    NODELOCAL = "nodelocal"
    UPSTREAM = "upstream"
    RESOLVER = "resolver"


HOPS: tuple[Hop, ...] = tuple(Hop)
DIRECT: tuple[Hop, ...] = (Hop.SERVICE, Hop.POD, Hop.NODELOCAL, Hop.UPSTREAM)
"""Hops probed by asking one server directly."""
THROUGH_CONNTRACK: frozenset[Hop] = frozenset({Hop.SERVICE, Hop.POD, Hop.NODELOCAL})
"""Hops whose UDP crosses the node's conntrack on the way to cluster DNS: where the A+AAAA race is probed."""
CLUSTER_ZONE: frozenset[Hop] = frozenset(HOPS) - {Hop.UPSTREAM}
"""Hops that answer the cluster's own names: internal names are probed there by default
(upstreams do not serve the cluster zone)."""


def order(hop: str) -> int:
    """Sort key: a hop's place on the path; anything else after them."""
    try:
        return HOPS.index(Hop(hop))
    except ValueError:
        return len(HOPS)
