"""Helpers the causes' rules share to read one snapshot: the cluster readings, servers, ratios.

Cluster rules read :class:`~exporter.cluster.readings.ClusterReadings` through
:func:`cluster_of` and do nothing without it (node mode, a standby, a reader
that failed). Node rules read :class:`~exporter.node.NodeReadings` from
``Observations.node``; "rising" there means a counter grew over the readings'
window (one sample per probe round).
"""

from __future__ import annotations

from exporter.cluster.readings import ClusterReadings
from exporter.diagnosis.model import Observations
from exporter.diagnosis.stats import ServerStats


def cluster_of(obs: Observations) -> ClusterReadings | None:
    """The cluster readings of the elected instance; a standby's (``leader`` False) count as none."""
    cluster = obs.cluster
    return cluster if cluster is not None and cluster.leader else None


def host(server: str) -> str:
    """``10.0.0.2:53`` -> ``10.0.0.2``; ``[fd00::2]:53`` -> ``fd00::2``."""
    return server.rsplit(":", 1)[0].strip("[]")


def server_list(stats: list[ServerStats]) -> str:
    return ", ".join(s.server for s in stats)


def server_state(s: ServerStats) -> str:
    """How one server fared in the window, as evidence reads it."""
    if not s.all.failed:
        return f"{s.path} {s.server}: all {s.all.total} probes answered"
    return f"{s.path} {s.server}: {s.all.failed}/{s.all.total} probes failed ({s.all.top_reason()})"


def pct(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def pods_counted(obs: Observations, probed: int) -> str:
    """``3 CoreDNS pods``, or ``3 CoreDNS pods probed (of 24)`` when rounds probe a share of them:
    the pods left out this window are neither answering nor failing, only not asked."""
    targets = obs.rounds[-1].targets if obs.rounds else None
    known = targets.known.get("pod") if targets is not None else None
    counted = f"{probed} CoreDNS pod{'s' if probed != 1 else ''}"
    return f"{counted} probed (of {known})" if known is not None and known > probed else counted
