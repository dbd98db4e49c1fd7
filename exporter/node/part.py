"""The node's part of the runtime: its files read once at the start of each round, and what they tell.

In node mode the agent reads the host's procfs and files (conntrack, UDP and TCP
counters, CPU, the node's resolv.conf) through :class:`NodeMonitor`; the round's
race probes are added after it. ``upstream: auto`` takes the servers of the node's
resolv.conf from the same read. The cluster instance has no host mounts: it reads
only its own pod's resolv.conf, for ``upstream: auto`` (:func:`host_resolver_part`).
"""

from __future__ import annotations

from exporter.config import Config
from exporter.node.monitor import NodeMonitor
from exporter.node.paths import NodePaths
from exporter.node.readers.resolv_conf import RESOLV_CONF, NodeResolvConf
from exporter.part import Part
from exporter.status import Status
from exporter.targets.node_upstreams import node_discovery


class _Paths:
    """The node roots in force; a reloaded config may move them."""

    def __init__(self, config: Config) -> None:
        self.apply(config)

    def apply(self, config: Config) -> None:
        self.current = NodePaths(config.node.procfs, config.node.rootfs)

    def __call__(self) -> NodePaths:
        return self.current


def node_part(config: Config, status: Status) -> Part:
    paths = _Paths(config)
    monitor = NodeMonitor(paths, status)

    async def read() -> None:
        monitor.read()

    return Part(
        before_round=(read,),
        after_round=(monitor.record,),
        discover=node_discovery(monitor.resolv_conf),
        apply=paths.apply,
        node=monitor.readings,
    )


def host_resolver_part(config: Config) -> Part:
    """``upstream: auto`` without the node readers: the resolv.conf under ``node.rootfs``, read again
    each round when it changed."""
    paths = _Paths(config)
    last: dict[NodePaths, NodeResolvConf] = {}

    def resolv_conf() -> NodeResolvConf:
        current = paths()
        value = RESOLV_CONF.refresh(current, last.get(current))
        last.clear()
        last[current] = value
        return value

    return Part(discover=node_discovery(resolv_conf), apply=paths.apply)
