"""Where to probe: the servers of every path, from static lists, resolv.conf files or discovery."""

from __future__ import annotations

from exporter.targets.sources import TargetSet, TargetSources

__all__ = ["TargetSet", "TargetSources"]
