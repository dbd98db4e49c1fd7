"""The ``diagnosis`` section: the window, the thresholds, where runbook links point."""

from __future__ import annotations

from functools import partial
from typing import Any

from exporter.config import _reader as r
from exporter.config.model import DiagnosisConfig, Thresholds

_RATIOS = ("conntrack_fill", "coredns_cpu", "coredns_memory", "node_cpu")


def parse_diagnosis(raw: Any, path: str) -> DiagnosisConfig:
    doc = r.mapping(raw, path, ("window", "runbook_url", "thresholds"))
    base = DiagnosisConfig()
    return DiagnosisConfig(
        window=r.given(doc, path, "window", partial(r.integer, low=1, high=60), base.window),
        runbook_url=r.given(doc, path, "runbook_url", r.string, base.runbook_url),
        thresholds=_thresholds(doc.get("thresholds"), r.join(path, "thresholds")),
    )


def _thresholds(raw: Any, path: str) -> Thresholds:
    doc = r.mapping(raw, path, (*_RATIOS, "lookup_queries"))
    base = Thresholds()
    ratio = partial(r.number, low=0.01, high=1.0)
    ratios = {key: r.given(doc, path, key, ratio, getattr(base, key)) for key in _RATIOS}
    lookups = r.given(doc, path, "lookup_queries", partial(r.integer, low=1, high=100), base.lookup_queries)
    return Thresholds(lookup_queries=lookups, **ratios)
