"""The ``diagnosis`` section: the window, the thresholds, where runbook links point."""

from __future__ import annotations

from typing import Any

from exporter.config import _reader as r
from exporter.config.model import DiagnosisConfig, Thresholds

_RATIOS = ("conntrack_fill", "coredns_cpu", "coredns_memory", "node_cpu")


def parse_diagnosis(raw: Any, path: str) -> DiagnosisConfig:
    doc = r.mapping(raw, path, ("window", "runbook_url", "thresholds"))
    base = DiagnosisConfig()
    return DiagnosisConfig(
        window=r.integer(doc.get("window", base.window), r.join(path, "window"), low=1, high=60),
        runbook_url=r.string(doc.get("runbook_url", base.runbook_url), r.join(path, "runbook_url")),
        thresholds=_thresholds(doc.get("thresholds"), r.join(path, "thresholds")),
    )


def _thresholds(raw: Any, path: str) -> Thresholds:
    doc = r.mapping(raw, path, (*_RATIOS, "lookup_queries"))
    base = Thresholds()
    ratios = {
        key: r.number(doc.get(key, getattr(base, key)), r.join(path, key), low=0.01, high=1.0)
        for key in _RATIOS
    }
    lookups = doc.get("lookup_queries", base.lookup_queries)
    return Thresholds(
        lookup_queries=r.integer(lookups, r.join(path, "lookup_queries"), low=1, high=100), **ratios
    )
