"""A part of the running exporter, as a value: what one source of readings brings to the runtime.

The composition root (``exporter.compose``) builds the parts a config needs (the
node readers, discovery, the cluster readers) and hands them to the
:class:`~exporter.runtime.Runtime`, which schedules their work, runs their hooks
around each probe round and puts their readings into every snapshot. The runtime
knows no mode and no part by name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from exporter.cluster.readings import ClusterReadings
from exporter.config import Config
from exporter.node.readings import NodeReadings
from exporter.probe.engine import Round
from exporter.targets import Discovery
from exporter.targets.discovery import DiscoveryReadings
from exporter.targets.sources import Zones
from exporter.vantage import VantageReadings


@dataclass(frozen=True, slots=True)
class Job:
    """Work that runs on its own schedule besides the probe round (e.g. the cluster readers).

    ``serve`` schedules it (no overlapping runs, jittered); ``doctor`` runs it once,
    before the probe round. A job records its own ``collector_success``.
    """

    name: str
    interval: float
    run: Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Part:
    jobs: tuple[Job, ...] = ()
    tasks: tuple[Callable[[], Coroutine[Any, Any, None]], ...] = ()
    """Long-running coroutines (API watches, the Lease) that ``serve`` starts and cancels at stop."""
    before_round: tuple[Callable[[], Awaitable[None]], ...] = ()
    """Awaited at the start of each round (a bounded wait for the first discovery, a node sample)."""
    after_round: tuple[Callable[[Round], object], ...] = ()
    """Called with each round before it is diagnosed."""
    discover: Discovery | None = None
    """Servers of ``auto`` hops this part finds (joined with the other parts')."""
    zones: Zones | None = None
    """Conditional forwarders for ``upstream: auto``, each probed for its zone (the first part's)."""
    leading: Callable[[], bool] | None = None
    """False on a cluster-mode standby: its rounds probe nothing, so only the leader reports."""
    apply: Callable[[Config], None] | None = None
    """Take a reloaded config (SIGHUP)."""
    node: Callable[[], NodeReadings | None] | None = None
    cluster: Callable[[], ClusterReadings | None] | None = None
    discovery: Callable[[], DiscoveryReadings | None] | None = None
    vantage: Callable[[], VantageReadings | None] | None = None
    """The node-vantage agent's last round, read beside this one (``exporter.vantage``)."""
