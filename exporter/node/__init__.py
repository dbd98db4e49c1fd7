"""Node readers: conntrack, UDP/TCP loss, CPU, the node resolv.conf, read through the host procfs/root."""

from __future__ import annotations

from exporter.node.paths import NodePaths
from exporter.node.readings import NodeReadings

__all__ = ["NodePaths", "NodeReadings"]
