"""Signals -> documented causes: pure functions over one snapshot of observations."""

from __future__ import annotations

from exporter.diagnosis.catalog import CAUSES, Cause
from exporter.diagnosis.engine import Findings, diagnose, upstream_comparisons
from exporter.diagnosis.model import Finding, Observations

__all__ = ["CAUSES", "Cause", "Finding", "Findings", "Observations", "diagnose", "upstream_comparisons"]
