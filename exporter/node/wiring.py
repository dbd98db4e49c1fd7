"""Attach the node readers to a runtime: scrape collectors, one sample per probe round, the readings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from exporter.node.collectors import node_collectors
from exporter.node.monitor import NodeMonitor
from exporter.node.paths import NodePaths

if TYPE_CHECKING:
    from exporter.runtime import Runtime


def attach_node(runtime: Runtime) -> NodeMonitor:
    """Read the node through ``runtime.node_paths`` (which follows config reloads)."""

    def paths() -> NodePaths:
        return runtime.node_paths

    monitor = NodeMonitor(paths, runtime.status)
    runtime.scrape_collectors.extend(node_collectors(paths))
    runtime.round_hooks.append(monitor.sample)
    runtime.readings["node"] = monitor.readings
    return monitor
