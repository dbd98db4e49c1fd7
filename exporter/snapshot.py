"""One consistent view of everything the exporter knows now: what /metrics, /diagnose and ``doctor`` render.

The runtime builds a :class:`Snapshot` from the probe state, the latest diagnosis,
the collectors' status and each part's latest readings. The two rendering rooms
read only this: ``exporter.exposition`` turns it into metric families,
``exporter.report`` and ``exporter.text`` into the JSON and text report. Nothing in
either room reads a file or calls the network.
"""

from __future__ import annotations

from dataclasses import dataclass

from exporter.cluster.readings import ClusterReadings
from exporter.config import Config
from exporter.diagnosis.agreement import Comparison
from exporter.diagnosis.model import Finding
from exporter.node.readings import NodeReadings
from exporter.state import ProbeView
from exporter.status import StatusView
from exporter.targets.discovery import DiscoveryReadings
from exporter.vantage import VantageReadings


@dataclass(frozen=True, slots=True)
class Snapshot:
    config: Config
    probes: ProbeView
    findings: tuple[Finding, ...]
    comparisons: tuple[Comparison, ...]
    """How the upstreams answered each name they were asked (``k8s_dns_upstream_disagreement``)."""
    status: StatusView
    node: NodeReadings | None = None
    """The node part's readings (node mode), ``None`` before its first sample or in cluster mode."""
    cluster: ClusterReadings | None = None
    """The cluster part's readings (cluster mode); ``leader`` False on a standby."""
    discovery: DiscoveryReadings | None = None
    """What discovery found, where the Kubernetes API is read."""
    node_vantage: VantageReadings | None = None
    """The node-vantage agent's last round, where one runs beside this agent."""
