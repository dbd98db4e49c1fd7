"""The one room where state becomes metric families: ``/metrics`` renders a snapshot of the runtime.

Families are built fresh on every scrape from the snapshot (client_python custom
collectors), so a series whose target is gone is simply not rendered again. Names,
types, help and labels come from ``exporter.metrics``; nothing outside this package
builds a family.
"""

from __future__ import annotations

from exporter.exposition.collector import Collector

__all__ = ["Collector"]
