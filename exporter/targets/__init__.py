"""Where to probe: the servers of every path, from static lists, resolv.conf files or discovery."""

from __future__ import annotations

from exporter.targets.sources import Discovery, NotServed, TargetSet, TargetSources, compose

__all__ = ["Discovery", "NotServed", "TargetSet", "TargetSources", "compose"]
